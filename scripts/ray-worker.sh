#!/usr/bin/env bash
# Default Ray WORKER node task script (raydog-operator). YellowDog's bash task type runs it as
# `bash taskdata.txt` on a VM of the worker pool; it runs for as long as Ray does (`--block`), and the EXIT
# trap stops Ray when the task is aborted (SIGTERM) or Ray exits.
# Environment (set by the operator):
#   RAY_HEAD_IP               the head node's private IP (required)
#   RAY_HEAD_NODE_PRIVATE_IP  the same (RayDog's deprecated name)
#   OBSERVABILITY_HOST        the observability node's private IP (optional)
# Override with spec.workerPools[].startScript / startScriptFrom.
set -euo pipefail

: "${RAY_HEAD_IP:?RAY_HEAD_IP must be set by the operator}"

VENV="${RAY_VENV:-/opt/yellowdog/agent/venv}"
if [[ -f "$VENV/bin/activate" ]]; then
  # shellcheck source=/dev/null
  source "$VENV/bin/activate"
fi

trap 'ray stop' EXIT

# Node metrics on 10002; Ray worker ports 10003-19999 (the range the observability wiring scrapes).
ray start \
  --address="${RAY_HEAD_IP}:6379" \
  --metrics-export-port=10002 \
  --min-worker-port=10003 \
  --max-worker-port=19999 \
  --block
