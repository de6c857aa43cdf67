#!/usr/bin/env bash
# Default Ray HEAD node task script (raydog-operator). YellowDog's bash task type runs it as
# `bash taskdata.txt` on a VM of the head pool; it runs for as long as Ray does (`--block`), and the EXIT
# trap stops Ray when the task is aborted (SIGTERM) or Ray exits.
# Environment (set by the operator):
#   OBSERVABILITY_HOST  the observability node's private IP (optional). With it, the Ray dashboard embeds
#                       Grafana from there, and a Prometheus agent here (the metrics relay) scrapes the
#                       metrics port of every live Ray node, found in Ray's own service-discovery file,
#                       and remote-writes them to Prometheus on OBSERVABILITY_HOST:9090 (scripts/README.md).
#   RAY_PROMETHEUS_NAME Grafana's datasource name (default Prometheus; the observability node uses the same)
#   RAYDOG_SCRAPE_INTERVAL  how often the relay scrapes each node (default 10s, Ray's own choice)
#   RAYDOG_NODE_IP      this VM's private address (optional: Ray finds it; the simulator, whose nodes share
#                       one host, sets it)
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

# The node's own processes (DALiuGE managers, the metrics relay) stop first, then Ray: on abort (SIGTERM) or
# when Ray exits.
CHILDREN=()
# shellcheck disable=SC2317  # called through the EXIT trap
stop_node() {
  local pid
  for pid in "${CHILDREN[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${CHILDREN[@]}"; do wait "$pid" 2>/dev/null || true; done
  ray stop
}
trap stop_node EXIT

NODE_IP="${RAYDOG_NODE_IP:-}"
node_ip_args=()
if [[ -n "$NODE_IP" ]]; then node_ip_args=("--node-ip-address=${NODE_IP}"); fi
# Ray's temp dir, by Ray's own rule, passed explicitly so the relay reads the discovery file Ray writes.
RAY_TEMP_DIR="${RAY_TMPDIR:-${TMPDIR:-/tmp}}/ray"

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
  DLG_ROOT="$DLG_ROOT" dlg dim -H 0.0.0.0 -P "${DLG_DIM_PORT:-8001}" -v &
  CHILDREN+=("$!")
  if [[ "${DLG_NM_ON_HEAD:-false}" == "true" ]]; then
    DLG_ROOT="$DLG_ROOT" dlg nm -H 0.0.0.0 -P "${DLG_NM_PORT:-8000}" \
      --event_port "${DLG_EVENTS_PORT:-5555}" --rpc_port "${DLG_RPC_PORT:-6666}" -v &
    CHILDREN+=("$!")
  fi
fi

# The metrics relay: a Prometheus agent (no local storage, no queries) that scrapes the targets of Ray's
# discovery file (every live node's metrics port, rewritten by the dashboard every 5 s) and remote-writes to
# the observability node. Nodes that join are scraped within a discovery refresh; nodes that leave drop out
# of the file and their series end with staleness markers, so Prometheus shows exactly the live nodes.
start_metrics_relay() {
  if ! command -v prometheus >/dev/null; then
    echo "warning: OBSERVABILITY_HOST is set but 'prometheus' is not installed: no Ray metrics reach" \
      "${OBSERVABILITY_HOST}:9090 (the built-in userdata installs it: scripts/node-userdata.sh)" >&2
    return 0
  fi
  local dir="${TMPDIR:-/tmp}/raydog-metrics-relay" agent_flag="--enable-feature=agent"
  mkdir -p "$dir" "$RAY_TEMP_DIR"
  rm -f "$RAY_TEMP_DIR/prom_metrics_service_discovery.json" # a previous Ray session's nodes
  # Prometheus 3 made agent mode a flag of its own.
  if [[ "$(prometheus --version 2>&1 | sed -n 's/^prometheus, version \([0-9]*\)\..*/\1/p' | head -n1)" -ge 3 ]]; then
    agent_flag="--agent"
  fi
  cat >"$dir/agent.yml" <<AGENT
global:
  scrape_interval: ${RAYDOG_SCRAPE_INTERVAL:-10s}
scrape_configs:
  - job_name: ray
    file_sd_configs:
      - files: ["${RAY_TEMP_DIR}/prom_metrics_service_discovery.json"]
remote_write:
  - url: "http://${OBSERVABILITY_HOST}:9090/api/v1/write"
AGENT
  # Its own web port stays on this node (loopback unless the platform names the node's address).
  prometheus "$agent_flag" \
    --config.file="$dir/agent.yml" \
    --storage.agent.path="$dir/wal" \
    --web.listen-address="${NODE_IP:-127.0.0.1}:9091" &
  CHILDREN+=("$!")
}

if [[ -n "${OBSERVABILITY_HOST:-}" ]]; then
  # Ray's dashboard embeds Grafana panels and reads Prometheus from the observability node.
  export RAY_GRAFANA_HOST="http://${OBSERVABILITY_HOST}:3000"
  export RAY_PROMETHEUS_HOST="http://${OBSERVABILITY_HOST}:9090"
  export RAY_GRAFANA_IFRAME_HOST="http://${OBSERVABILITY_HOST}:3000"
  export RAY_PROMETHEUS_NAME="${RAY_PROMETHEUS_NAME:-Prometheus}"
  start_metrics_relay
fi

# GCS 6379, dashboard 8265 (all interfaces), Ray client server 10001, node metrics 8080 (KubeRay's port; a
# fixed one, so Prometheus can find it: Ray picks a random one otherwise).
# The head takes no work: --num-cpus=0 keeps tasks on the workers.
ray start --head \
  "${node_ip_args[@]}" \
  --temp-dir="$RAY_TEMP_DIR" \
  --port=6379 \
  --num-cpus=0 \
  --dashboard-host=0.0.0.0 \
  --dashboard-port=8265 \
  --ray-client-server-port=10001 \
  --metrics-export-port=8080 \
  --block
