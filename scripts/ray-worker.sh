#!/usr/bin/env bash
# Default Ray WORKER node task script (raydog-operator). YellowDog's bash task type runs it as
# `bash taskdata.txt` on a VM of the worker pool; it runs for as long as Ray does (`--block`), and the EXIT
# trap stops Ray when the task is aborted (SIGTERM) or Ray exits.
# Environment (set by the operator):
#   RAY_HEAD_IP               the head node's private IP (required)
#   RAY_HEAD_NODE_PRIVATE_IP  the same (RayDog's deprecated name)
#   OBSERVABILITY_HOST        the observability node's private IP (optional; nothing to do here: the
#                             head's metrics relay scrapes this node's metrics port, 8080)
#   RAYDOG_NODE_IP            this VM's private address (optional: Ray finds it; the simulator sets it)
#   DLG_ENABLED=true          DALiuGE: start a Node Manager (NM) here with DLG_ROOT, DLG_NM_PORT,
#                             DLG_EVENTS_PORT, DLG_RPC_PORT, and join Ray only once it answers GET /api
#                             (at most DLG_NM_WAIT_SECONDS, default 120). The operator registers the NM with
#                             the head's DIM; this script never does.
# Override with spec.workerPools[].startScript / startScriptFrom.
set -euo pipefail

: "${RAY_HEAD_IP:?RAY_HEAD_IP must be set by the operator}"

VENV="${RAY_VENV:-/opt/yellowdog/agent/venv}"
if [[ -f "$VENV/bin/activate" ]]; then
  # shellcheck source=/dev/null
  source "$VENV/bin/activate"
fi

trap 'ray stop' EXIT

if [[ "${DLG_ENABLED:-false}" == "true" ]]; then
  # The NM runs in the foreground of its own process, a child of this script (no -d, no --watchdog: a
  # restart on another port would invalidate the registration); the EXIT trap stops it before Ray.
  # -H 0.0.0.0: the DIM and the other NMs reach it on the private network (REST, events, RPC).
  : "${DLG_ROOT:?DLG_ROOT must be set when DLG_ENABLED=true}"
  if ! command -v dlg >/dev/null; then
    echo "error: DALiuGE is enabled but 'dlg' is not installed (daliuge-engine: see scripts/node-userdata.sh)" >&2
    exit 1
  fi
  if ! command -v curl >/dev/null; then
    echo "error: DALiuGE is enabled but 'curl' (the Node Manager readiness check) is not installed" >&2
    exit 1
  fi
  NM_PORT="${DLG_NM_PORT:-8000}"
  NM_WAIT="${DLG_NM_WAIT_SECONDS:-120}"
  mkdir -p "$DLG_ROOT"
  DLG_ROOT="$DLG_ROOT" dlg nm -H 0.0.0.0 -P "$NM_PORT" \
    --event_port "${DLG_EVENTS_PORT:-5555}" --rpc_port "${DLG_RPC_PORT:-6666}" -v &
  NM_PID=$!
  # shellcheck disable=SC2317  # called through the EXIT trap
  stop_daliuge() {
    kill -TERM "$NM_PID" 2>/dev/null || true
    wait "$NM_PID" 2>/dev/null || true
  }
  trap 'stop_daliuge; ray stop' EXIT
  # "Ray worker joined" then implies "NM ready": its REST server starts after its event and RPC sockets.
  deadline=$((SECONDS + NM_WAIT))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:${NM_PORT}/api" || true)" == "200" ]]; do
    if ! kill -0 "$NM_PID" 2>/dev/null; then
      echo "error: the DALiuGE Node Manager (dlg nm) exited before answering on port ${NM_PORT}" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "error: the DALiuGE Node Manager did not answer GET http://127.0.0.1:${NM_PORT}/api within ${NM_WAIT}s" >&2
      exit 1
    fi
    sleep 0.5
  done
fi

# The pool's rayResources (the operator sets these from spec.workerPools[].rayResources; absent, Ray
# detects the VM's CPUs, GPUs and memory).
resource_args=()
if [[ -n "${RAYDOG_NUM_CPUS:-}" ]]; then resource_args+=("--num-cpus=${RAYDOG_NUM_CPUS}"); fi
if [[ -n "${RAYDOG_NUM_GPUS:-}" ]]; then resource_args+=("--num-gpus=${RAYDOG_NUM_GPUS}"); fi
if [[ -n "${RAYDOG_MEMORY:-}" ]]; then resource_args+=("--memory=${RAYDOG_MEMORY}"); fi
if [[ -n "${RAYDOG_OBJECT_STORE_MEMORY:-}" ]]; then resource_args+=("--object-store-memory=${RAYDOG_OBJECT_STORE_MEMORY}"); fi
if [[ -n "${RAYDOG_RAY_RESOURCES:-}" ]]; then resource_args+=("--resources=${RAYDOG_RAY_RESOURCES}"); fi

node_ip_args=()
if [[ -n "${RAYDOG_NODE_IP:-}" ]]; then node_ip_args=("--node-ip-address=${RAYDOG_NODE_IP}"); fi

# Node metrics on 8080 (fixed, as on the head: the head's relay scrapes it); Ray worker ports 10003-19999.
ray start \
  --address="${RAY_HEAD_IP}:6379" \
  "${node_ip_args[@]}" \
  "${resource_args[@]}" \
  --metrics-export-port=8080 \
  --min-worker-port=10003 \
  --max-worker-port=19999 \
  --block
