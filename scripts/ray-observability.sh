#!/usr/bin/env bash
# Default OBSERVABILITY node task script (raydog-operator): Prometheus on 9090 and Grafana on 3000 for the
# Ray cluster. The Ray nodes ship metrics here through OBSERVABILITY_HOST (this node's private IP, which the
# operator gives to the head and worker tasks). Runs until the task is aborted; the EXIT trap stops the
# services. Override with spec.observability.startScript / startScriptFrom.
set -euo pipefail

VENV="${RAY_VENV:-/opt/yellowdog/agent/venv}"
if [[ -f "$VENV/bin/activate" ]]; then
  # shellcheck source=/dev/null
  source "$VENV/bin/activate"
fi

WORKDIR="${TMPDIR:-/tmp}/raydog-observability"
mkdir -p "$WORKDIR"
PIDS=()

# shellcheck disable=SC2317  # called through the EXIT trap
stop_services() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait || true
}
trap stop_services EXIT

# Prometheus: remote-write receiver on 9090 (the nodes' Grafana Alloy pushes metrics to it).
cat >"$WORKDIR/prometheus.yml" <<'PROM'
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
PROM
prometheus \
  --config.file="$WORKDIR/prometheus.yml" \
  --storage.tsdb.path="$WORKDIR/prometheus-data" \
  --web.listen-address=0.0.0.0:9090 \
  --web.enable-remote-write-receiver &
PIDS+=("$!")

# Grafana on 3000, anonymous viewer access so Ray's dashboard can embed its panels.
export GF_SERVER_HTTP_PORT=3000
export GF_AUTH_ANONYMOUS_ENABLED=true
export GF_SECURITY_ALLOW_EMBEDDING=true
grafana server --homepath "${GRAFANA_HOME:-/usr/share/grafana}" &
PIDS+=("$!")

# The task lives as long as both services; if one dies, the task fails and the operator replaces it.
wait -n
exit 1
