#!/usr/bin/env bash
# Default Ray HEAD node task script (raydog-operator). YellowDog's bash task type runs it as
# `bash taskdata.txt` on a VM of the head pool; it runs for as long as Ray does (`--block`), and the EXIT
# trap stops Ray when the task is aborted (SIGTERM) or Ray exits.
# Environment (set by the operator): OBSERVABILITY_HOST (optional) = the observability node's private IP.
# Override with spec.head.startScript / startScriptFrom.
set -euo pipefail

# The node userdata installs Ray into a virtualenv in the agent's home (RayDog's convention).
VENV="${RAY_VENV:-/opt/yellowdog/agent/venv}"
if [[ -f "$VENV/bin/activate" ]]; then
  # shellcheck source=/dev/null
  source "$VENV/bin/activate"
fi

trap 'ray stop' EXIT

if [[ -n "${OBSERVABILITY_HOST:-}" ]]; then
  # Ray's dashboard embeds Grafana panels and reads Prometheus from the observability node.
  export RAY_GRAFANA_HOST="http://${OBSERVABILITY_HOST}:3000"
  export RAY_PROMETHEUS_HOST="http://${OBSERVABILITY_HOST}:9090"
  export RAY_GRAFANA_IFRAME_HOST="http://${OBSERVABILITY_HOST}:3000"
fi

# GCS 6379, dashboard 8265 (all interfaces), Ray client server 10001, node metrics 10002.
# The head takes no work: --num-cpus=0 keeps tasks on the workers.
ray start --head \
  --port=6379 \
  --num-cpus=0 \
  --dashboard-host=0.0.0.0 \
  --dashboard-port=8265 \
  --ray-client-server-port=10001 \
  --metrics-export-port=10002 \
  --block
