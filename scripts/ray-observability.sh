#!/usr/bin/env bash
# Default OBSERVABILITY node task script (raydog-operator): Prometheus on 9090 and Grafana on 3000 for the
# Ray cluster. Ray metrics arrive by remote write from the head's metrics relay (scripts/ray-head.sh: a
# Prometheus agent scraping every live Ray node), so Prometheus here needs no list of nodes. Grafana is
# provisioned with the Prometheus datasource Ray's dashboard names (RAY_PROMETHEUS_NAME) and Ray's own
# dashboards. Runs until the task is aborted; the EXIT trap stops the services; if either dies, the task
# fails and the operator replaces it. Override with spec.observability.startScript / startScriptFrom.
# Environment (all optional):
#   RAY_PROMETHEUS_NAME  the datasource name (default Prometheus; the head uses the same)
#   RAYDOG_NODE_IP       this VM's private address: the services listen on it (default: all interfaces)
#   GRAFANA_HOME         Grafana's home path (default /usr/share/grafana, the package's)
set -euo pipefail

VENV="${RAY_VENV:-/opt/yellowdog/agent/venv}"
if [[ -f "$VENV/bin/activate" ]]; then
  # shellcheck source=/dev/null
  source "$VENV/bin/activate"
fi

WORKDIR="${TMPDIR:-/tmp}/raydog-observability"
LISTEN_IP="${RAYDOG_NODE_IP:-0.0.0.0}"
LOCAL_IP="${RAYDOG_NODE_IP:-127.0.0.1}"
PROMETHEUS_NAME="${RAY_PROMETHEUS_NAME:-Prometheus}"
GRAFANA_DIR="$WORKDIR/grafana"
mkdir -p "$WORKDIR" "$GRAFANA_DIR/provisioning/datasources" "$GRAFANA_DIR/provisioning/dashboards" \
  "$GRAFANA_DIR/dashboards"

if ! command -v prometheus >/dev/null; then
  echo "error: 'prometheus' is not installed (the built-in userdata installs it: scripts/node-userdata.sh)" >&2
  exit 1
fi
GRAFANA_CMD=()
if command -v grafana >/dev/null; then
  GRAFANA_CMD=(grafana server)
elif command -v grafana-server >/dev/null; then
  GRAFANA_CMD=(grafana-server)
else
  echo "error: Grafana is not installed (the built-in userdata installs it: scripts/node-userdata.sh)" >&2
  exit 1
fi

PIDS=()
# shellcheck disable=SC2317  # called through the EXIT trap
stop_services() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait || true
}
trap stop_services EXIT

# Prometheus with its remote-write receiver (the flag depends on the version: a feature flag before 2.33).
read -r prom_major prom_minor < <(prometheus --version 2>&1 |
  sed -n 's/^prometheus, version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p' | head -n1)
receiver_flag="--web.enable-remote-write-receiver"
if [[ "${prom_major:-0}" -lt 2 || ("${prom_major:-0}" -eq 2 && "${prom_minor:-0}" -lt 33) ]]; then
  receiver_flag="--enable-feature=remote-write-receiver"
fi
cat >"$WORKDIR/prometheus.yml" <<PROM
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["${LOCAL_IP}:9090"]
PROM
prometheus \
  --config.file="$WORKDIR/prometheus.yml" \
  --storage.tsdb.path="$WORKDIR/prometheus-data" \
  --web.listen-address="${LISTEN_IP}:9090" \
  "$receiver_flag" &
PIDS+=("$!")

# Ray's Grafana dashboards: Ray writes them when a head's dashboard starts, and they depend only on the Ray
# version, so a short-lived local head produces the same ones the cluster's head serves.
copy_ray_dashboards() {
  local ray_tmp="$WORKDIR/ray" out deadline
  out="$ray_tmp/session_latest/metrics/grafana/dashboards"
  if ! command -v ray >/dev/null; then
    echo "warning: 'ray' is not installed here: Grafana starts without Ray's dashboards" >&2
    return 0
  fi
  local node_ip_args=()
  if [[ -n "${RAYDOG_NODE_IP:-}" ]]; then node_ip_args=("--node-ip-address=${RAYDOG_NODE_IP}"); fi
  RAY_PROMETHEUS_NAME="$PROMETHEUS_NAME" ray start --head "${node_ip_args[@]}" --temp-dir="$ray_tmp" \
    --num-cpus=0 --include-dashboard=true --dashboard-host=127.0.0.1 >"$WORKDIR/ray-dashboards.log" 2>&1 || true
  deadline=$((SECONDS + 120))
  until compgen -G "$out/*.json" >/dev/null || ((SECONDS >= deadline)); do sleep 1; done
  sleep 1 # Ray writes the files one after another
  if compgen -G "$out/*.json" >/dev/null; then
    cp "$out"/*.json "$GRAFANA_DIR/dashboards/"
  else
    echo "warning: Ray wrote no Grafana dashboards within 120s (see $WORKDIR/ray-dashboards.log)" >&2
  fi
  ray stop >/dev/null 2>&1 || true
}
copy_ray_dashboards

# Grafana provisioning: the datasource under the name Ray's dashboard asks for, and Ray's dashboards.
cat >"$GRAFANA_DIR/provisioning/datasources/ray.yaml" <<DS
apiVersion: 1
datasources:
  - name: "${PROMETHEUS_NAME}"
    type: prometheus
    access: proxy
    url: "http://${LOCAL_IP}:9090"
    isDefault: true
DS
cat >"$GRAFANA_DIR/provisioning/dashboards/ray.yaml" <<DASH
apiVersion: 1
providers:
  - name: Ray
    folder: Ray
    type: file
    options:
      path: "${GRAFANA_DIR}/dashboards"
DASH

# Grafana on 3000: anonymous viewers and embedding, so Ray's dashboard can show its panels in an iframe.
export GF_SERVER_HTTP_ADDR="${RAYDOG_NODE_IP:-}"
export GF_SERVER_HTTP_PORT=3000
export GF_PATHS_PROVISIONING="$GRAFANA_DIR/provisioning"
export GF_PATHS_DATA="$GRAFANA_DIR/data"
export GF_PATHS_LOGS="$GRAFANA_DIR/logs"
export GF_AUTH_ANONYMOUS_ENABLED=true
export GF_AUTH_ANONYMOUS_ORG_ROLE=Viewer
export GF_SECURITY_ALLOW_EMBEDDING=true
"${GRAFANA_CMD[@]}" --homepath "${GRAFANA_HOME:-/usr/share/grafana}" &
PIDS+=("$!")

# The task lives as long as both services; if one dies, the task fails and the operator replaces it.
wait -n
exit 1
