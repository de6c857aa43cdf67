#!/usr/bin/env bash
# Default Ray HEAD node task script (raydog-operator). YellowDog's bash task type runs it as
# `bash taskdata.txt` on a VM of the head pool; it runs for as long as Ray does (`--block`), and the EXIT
# trap stops Ray when the task is aborted (SIGTERM) or Ray exits.
# Environment (set by the operator):
#   OBSERVABILITY_HOST  the observability node's private IP (optional)
#   DLG_ENABLED=true    DALiuGE: start a Data Island Manager (DIM) here, with DLG_ROOT, DLG_DIM_PORT, and
#                       when DLG_NM_ON_HEAD=true also a Node Manager (DLG_NM_PORT, DLG_EVENTS_PORT,
#                       DLG_RPC_PORT). The operator registers the NMs with the DIM; this script never does.
# Override with spec.head.startScript / startScriptFrom.
set -euo pipefail

# The node userdata installs Ray into a virtualenv in the agent's home (RayDog's convention).
VENV="${RAY_VENV:-/opt/yellowdog/agent/venv}"
if [[ -f "$VENV/bin/activate" ]]; then
  # shellcheck source=/dev/null
  source "$VENV/bin/activate"
fi

trap 'ray stop' EXIT

if [[ "${DLG_ENABLED:-false}" == "true" ]]; then
  # DALiuGE managers run in the foreground of their own processes, children of this script (no -d, no
  # --watchdog: a restart on another port would invalidate the registration); the EXIT trap stops them
  # before Ray. -H 0.0.0.0: the operator and the NMs reach the DIM over the private network.
  : "${DLG_ROOT:?DLG_ROOT must be set when DLG_ENABLED=true}"
  if ! command -v dlg >/dev/null; then
    echo "error: DALiuGE is enabled but 'dlg' is not installed (daliuge-engine: see scripts/node-userdata.sh)" >&2
    exit 1
  fi
  mkdir -p "$DLG_ROOT"
  DLG_PIDS=()
  # shellcheck disable=SC2317  # called through the EXIT trap
  stop_daliuge() {
    local pid
    for pid in "${DLG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${DLG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  }
  trap 'stop_daliuge; ray stop' EXIT
  DLG_ROOT="$DLG_ROOT" dlg dim -H 0.0.0.0 -P "${DLG_DIM_PORT:-8001}" -v &
  DLG_PIDS+=("$!")
  if [[ "${DLG_NM_ON_HEAD:-false}" == "true" ]]; then
    DLG_ROOT="$DLG_ROOT" dlg nm -H 0.0.0.0 -P "${DLG_NM_PORT:-8000}" \
      --event_port "${DLG_EVENTS_PORT:-5555}" --rpc_port "${DLG_RPC_PORT:-6666}" -v &
    DLG_PIDS+=("$!")
  fi
fi

if [[ -n "${OBSERVABILITY_HOST:-}" ]]; then
  # Ray's dashboard embeds Grafana panels and reads Prometheus from the observability node.
  export RAY_GRAFANA_HOST="http://${OBSERVABILITY_HOST}:3000"
  export RAY_PROMETHEUS_HOST="http://${OBSERVABILITY_HOST}:9090"
  export RAY_GRAFANA_IFRAME_HOST="http://${OBSERVABILITY_HOST}:3000"
fi

# GCS 6379, dashboard 8265 (all interfaces), Ray client server 10001, node metrics 8080 (KubeRay's port; a
# fixed one, so Prometheus can find it: Ray picks a random one otherwise).
# The head takes no work: --num-cpus=0 keeps tasks on the workers.
ray start --head \
  --port=6379 \
  --num-cpus=0 \
  --dashboard-host=0.0.0.0 \
  --dashboard-port=8265 \
  --ray-client-server-port=10001 \
  --metrics-export-port=8080 \
  --block
