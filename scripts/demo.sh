#!/usr/bin/env bash
# make demo: a RayDogCluster converging end to end on this machine, no cluster and no YellowDog account needed.
# Starts kube-emulator (TLS + token), yellowdog-sim (second-scale delays so progress is visible) and
# raydog-operator, all on 127.0.0.1; applies the CRD, a credentials Secret and the heterogeneous sample; shows
# the cluster converging; scales a pool, removes one, deletes the cluster; then an autoscaled cluster grows
# with the demand its simulated Ray head reports and shrinks when idle; shows YellowDog cleaned up.
# `--observability`: instead, the node scripts run for real (yellowdog-sim --execute-tasks, with the test
# stand-ins for Ray and Grafana and Debian's real Prometheus) for manifests/samples/observability.yaml; after it
# is Ready, after a scale-up and after a scale-down it prints `prometheus targets up: N/N` (N = head + workers)
# from the observability node's Prometheus.
# `--job`: instead, manifests/samples/job.yaml: a RayDogJob whose ephemeral cluster comes up, whose entrypoint
# the simulated head runs once (yellowdog-sim --ray serves Ray's Jobs API), and which then deletes its cluster
# and, after its TTL, itself.
# Everything it started is stopped on exit, Ctrl-C or failure.
set -euo pipefail
cd "$(dirname "$0")/.."

OBSERVABILITY=false
JOB=false
case "${1:-}" in
  "") ;;
  --observability) OBSERVABILITY=true ;;
  --job) JOB=true ;;
  *) echo "usage: $0 [--observability | --job]" >&2; exit 2 ;;
esac

BIN=${RAYDOG_BIN:-build/bin}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/raydog-demo.XXXXXX")
PIDS=()
CLUSTER=research
NS=team-a

cleanup() {
  local rc=$? i
  trap - INT TERM
  if [ -n "${INTERRUPTED:-}" ]; then rc=130; fi
  printf '\r\033[K' >&2  # clear a progress line
  # Reverse start order: the operator stops first (lease released, nothing half-written) while its API
  # servers still answer; then the simulator and the emulator.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null || true
    wait "${PIDS[i]}" 2>/dev/null || true
  done
  if [ "$rc" -eq 130 ]; then
    echo "demo interrupted; everything it started is stopped" >&2
  elif [ "$rc" -ne 0 ]; then
    echo "demo failed (exit $rc)" >&2
    if [ -s "$WORK/operator.log" ]; then
      echo "last operator log lines:" >&2
      tail -n 20 "$WORK/operator.log" >&2
    fi
  fi
  rm -rf "$WORK"
  exit "$rc"
}
on_signal() {
  INTERRUPTED=1
  exit 130
}
trap cleanup EXIT
trap on_signal INT TERM

stage() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_for_file() {  # FILE SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}
jp() { kubectl get rdc "$CLUSTER" -n "$NS" -o "jsonpath=$1" 2>/dev/null || true; }
sim() { curl -fsS "$YD_URL/_sim/$1"; }

for exe in kube-emulator yellowdog-sim raydog-operator; do
  if [ ! -x "$BIN/$exe" ]; then
    if [ -z "${RAYDOG_BIN:-}" ]; then
      echo "demo: building the binaries first (make bins: installs what it needs, then builds)" >&2
      make bins
      break
    fi
    echo "demo: $BIN/$exe not found; build first ('make bins'), or point RAYDOG_BIN at the binaries" >&2
    exit 1
  fi
done

export KUBECONFIG="$WORK/kubeconfig" KUBECACHEDIR="$WORK/kubecache" HOME="$WORK"
# kubectl finds the `kubectl raydog` plugin on the PATH (make install-plugin puts it in /usr/local/bin).
export PATH="$PWD/plugin:$PATH"
T0=$(date +%s)

sim_flags=(--boot-delay 3s --register-delay 1s --task-start-delay 1s --ray)
if $OBSERVABILITY; then
  command -v prometheus >/dev/null || bash scripts/install-deps.sh
  command -v prometheus >/dev/null || {
    echo "demo: --observability needs Debian's prometheus (scripts/install-deps.sh installs it)" >&2
    exit 1
  }
  # The tasks the simulator runs find the stand-in ray (metrics on the node's address, Ray's discovery file)
  # and grafana first on their PATH, and the real prometheus after them.
  mkdir -p "$WORK/standin" "$WORK/tasks"
  for f in ray ray_node.py grafana; do install -m 0755 "test/e2e/scripts/standin/$f" "$WORK/standin/$f"; done
  export PATH="$WORK/standin:$PATH" RAYDOG_STANDIN_LOG="$WORK/standin.log" RAYDOG_SCRAPE_INTERVAL=2s
  : >"$RAYDOG_STANDIN_LOG"
  sim_flags+=(--execute-tasks "$WORK/tasks")
fi

stage "Starting kube-emulator (TLS, bearer token) and yellowdog-sim on 127.0.0.1"
# --allow-loopback-endpoints: the head Service's EndpointSlice points at a simulated (loopback) node.
"$BIN/kube-emulator" --listen 127.0.0.1:0 --write-kubeconfig "$KUBECONFIG" --tls --allow-loopback-endpoints \
  >"$WORK/emulator.log" 2>&1 &
PIDS+=($!)
"$BIN/yellowdog-sim" --listen 127.0.0.1:0 --write-url "$WORK/yd-url" --key-id demo-key-id --key-secret demo-key-secret \
  "${sim_flags[@]}" >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
wait_for_file "$KUBECONFIG" 20
wait_for_file "$WORK/yd-url" 20
YD_URL=$(cat "$WORK/yd-url")
echo "Kubernetes API: $(grep -m1 'server:' "$KUBECONFIG" | awk '{print $2}')   YellowDog API: $YD_URL"

stage "Installing the CRD and starting raydog-operator (RayDogCluster and RayDogJob)"
kubectl apply -f crds/raydog.io_raydogclusters.yaml -f crds/raydog.io_raydogjobs.yaml
kubectl wait --for=condition=Established crd/raydogclusters.raydog.io crd/raydogjobs.raydog.io --timeout=30s
"$BIN/raydog-operator" --kubeconfig "$KUBECONFIG" --health-probe-bind-address 127.0.0.1:0 \
  --metrics-bind-address 127.0.0.1:0 --log-format text --requeue-converging 1s \
  --yellowdog-allowed-urls 'http://127.0.0.1:*' >"$WORK/operator.log" 2>&1 &
PIDS+=($!)

# kubectl's imperative commands (protobuf bodies from kubectl 1.32, JSON from 1.20), as the README says.
kubectl create namespace "$NS"
kubectl -n "$NS" create secret generic yellowdog-credentials --from-literal=keyId=demo-key-id \
  --from-literal=keySecret=demo-key-secret

if $OBSERVABILITY; then
  CLUSTER=observed
  stage "Applying manifests/samples/observability.yaml (apiURL -> simulator; the node scripts run for real)"
  sed "s#^  yellowdog:#  yellowdog:\n    apiURL: $YD_URL#" manifests/samples/observability.yaml | kubectl apply -n "$NS" -f -
  kubectl wait --for=condition=Ready "rdc/$CLUSTER" -n "$NS" --timeout=180s
  kubectl get rdc -n "$NS" -o wide
  echo "Prometheus:     $(jp '{.status.observability.prometheusURL}')"
  echo "Grafana:        $(jp '{.status.observability.grafanaURL}')"
  # The scripts bind the node's private address (simulated VMs share this host, and nothing plays the cloud's
  # public-IP NAT): query Prometheus there.
  PROM="http://$(jp '{.status.observability.privateIP}'):9090"
  echo "(the simulated observability node answers on its private address: $PROM)"
  # `up` of every Ray node's metrics port as Prometheus stores it, against the nodes the cluster has.
  targets_up() {  # WORKERS: waits until Prometheus shows head + WORKERS nodes, all up; prints the line
    local want=$(($1 + 1)) i answer=""
    for ((i = 0; i < 120; i++)); do
      answer=$(curl -fsS -G "$PROM/api/v1/query" --data-urlencode 'query=up{job="ray",instance=~".+:8080"}' |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(sum(s["value"][1]=="1" for s in r), len(r))' ||
        echo "0 0")
      read -r up total <<<"$answer"
      [ "$up" = "$want" ] && [ "$total" = "$want" ] && break
      sleep 1
    done
    echo "prometheus targets up: $up/$want"
    [ "$up" = "$want" ] && [ "$total" = "$want" ]
  }
  wait_ready_workers() {  # N
    for ((i = 0; i < 120; i++)); do
      [ "$(jp '{.status.readyWorkers}')" = "$1" ] && [ "$(jp '{.status.desiredWorkers}')" = "$1" ] && return 0
      sleep 1
    done
    echo "workers did not reach $1" >&2; return 1
  }
  stage "Ray metrics in the observability node's Prometheus (head + 2 workers)"
  targets_up 2
  stage "Scaling pool 'cpu' to 4 nodes"
  kubectl patch rdc "$CLUSTER" -n "$NS" --type=json -p '[{"op":"replace","path":"/spec/workerPools/0/nodes","value":4}]'
  wait_ready_workers 4
  targets_up 4
  stage "Scaling pool 'cpu' to 1 node (drained; its series end, none linger)"
  kubectl patch rdc "$CLUSTER" -n "$NS" --type=json -p '[{"op":"replace","path":"/spec/workerPools/0/nodes","value":1}]'
  wait_ready_workers 1
  targets_up 1
  stage "Deleting the cluster"
  kubectl delete rdc "$CLUSTER" -n "$NS" --timeout=90s
  stage "Done in $(($(date +%s) - T0))s"
  exit 0
fi

if $JOB; then
  JOBNAME=pi
  stage "Applying manifests/samples/job.yaml (clusterSpec.yellowdog.apiURL -> simulator, a 10 s TTL for the demo)"
  sed -e "s#^    yellowdog:#    yellowdog:\n      apiURL: $YD_URL#" -e 's#ttlSecondsAfterFinished: 60#ttlSecondsAfterFinished: 10#' \
    manifests/samples/job.yaml | kubectl apply -n "$NS" -f -
  jjp() { kubectl get rdj "$JOBNAME" -n "$NS" -o "jsonpath=$1" 2>/dev/null || true; }
  printf '%-6s %-16s %-12s %-12s %s\n' JOB DEPLOYMENT "JOB STATUS" CLUSTER MESSAGE
  last=""
  for ((i = 0; i < 180; i++)); do
    fields=$(jjp '{.status.jobDeploymentStatus}|{.status.jobStatus}|{.status.clusterName}|{.status.message}')
    IFS='|' read -r dstat jstat cname msg <<<"$fields" || true
    line=$(printf '%-6s %-16s %-12s %-12s %s' "$JOBNAME" "${dstat:--}" "${jstat:--}" "${cname:--}" "${msg:0:60}")
    if [ "$line" != "$last" ]; then echo "$line"; last=$line; fi
    [ "$dstat" = "Complete" ] || [ "$dstat" = "Failed" ] && break
    sleep 1
  done
  kubectl wait --for=condition=Complete "rdj/$JOBNAME" -n "$NS" --timeout=10s
  kubectl get rdj -n "$NS" -o wide
  echo "Submissions the simulated head received: $(sim ray/jobs | python3 -c 'import json,sys; print([(j["submissionId"], j["status"]) for j in json.load(sys.stdin)])')"
  kubectl get events -n "$NS" --field-selector "involvedObject.name=$JOBNAME" --sort-by=.lastTimestamp \
    -o custom-columns=REASON:.reason,MESSAGE:.message --no-headers
  stage "The job deletes its cluster now, and itself after ttlSecondsAfterFinished"
  cname=$(jjp '{.status.clusterName}')
  kubectl wait --for=delete "rdc/$cname" -n "$NS" --timeout=90s
  kubectl wait --for=delete "rdj/$JOBNAME" -n "$NS" --timeout=60s
  kubectl get rdj,rdc -n "$NS"
  stage "Done in $(($(date +%s) - T0))s"
  exit 0
fi

stage "Applying a credentials Secret and the heterogeneous sample with its ConfigMaps (apiURL -> simulator)"
sed "s#apiURL: https://api.yellowdog.ai#apiURL: $YD_URL#" manifests/samples/heterogeneous.yaml | kubectl apply -f -

stage "Converging (what 'kubectl get rdc -w' shows)"
# One line per change, in the columns 'kubectl get rdc' prints, under a live progress line.
row() { printf '%-10s %-14s %-11s %-8s %-8s %s\n' "$@"; }
row NAME PHASE "HEAD IP" WORKERS DESIRED READY
last=""
for ((i = 0; i < 180; i++)); do
  fields=$(jp '{.status.phase}|{.status.head.privateIP}|{.status.readyWorkers}|{.status.desiredWorkers}|{.status.conditions[?(@.type=="Ready")].status}') || true
  IFS='|' read -r phase head_ip ready_workers desired ready <<<"$fields" || true
  line=$(row "$CLUSTER" "${phase:--}" "${head_ip:--}" "${ready_workers:-0}" "${desired:-?}" "${ready:-?}")
  if [ "$line" != "$last" ]; then printf '\r\033[K%s\n' "$line"; last=$line; fi
  printf '\r\033[K  [%3ss] phase=%s, %s/%s workers ready' "$(($(date +%s) - T0))" "${phase:--}" \
    "${ready_workers:-0}" "${desired:-?}" >&2
  [ "$ready" = "True" ] && break
  sleep 1
done
printf '\r\033[K' >&2
kubectl wait --for=condition=Ready "rdc/$CLUSTER" -n "$NS" --timeout=10s
kubectl get rdc -n "$NS" -o wide

stage "Endpoints"
echo "Ray client:     $(jp '{.status.endpoints.client}')"
echo "Ray dashboard:  $(jp '{.status.endpoints.dashboard}')"
echo "GCS:            $(jp '{.status.endpoints.gcs}')"
echo "Head node:      private $(jp '{.status.head.privateIP}')  public $(jp '{.status.head.publicIP}')"
echo "Grafana:        $(jp '{.status.observability.grafanaURL}')"

wait_workers() {  # DESIRED
  for ((i = 0; i < 90; i++)); do
    [ "$(jp '{.status.desiredWorkers}')" = "$1" ] && [ "$(jp '{.status.readyWorkers}')" = "$1" ] &&
      [ "$(jp '{.status.conditions[?(@.type=="Ready")].status}')" = "True" ] && return 0
    sleep 1
  done
  echo "workers did not reach $1" >&2; return 1
}

stage "Scaling pool 'cpu' from 8 to 4 nodes (kubectl patch)"
kubectl patch rdc "$CLUSTER" -n "$NS" --type=json -p '[{"op":"replace","path":"/spec/workerPools/0/nodes","value":4}]'
wait_workers 6
kubectl get rdc -n "$NS"

stage "Removing pool 'gpu'"
kubectl patch rdc "$CLUSTER" -n "$NS" --type=json -p '[{"op":"remove","path":"/spec/workerPools/1"}]'
wait_workers 4
kubectl get rdc -n "$NS"

stage "Deleting the cluster"
kubectl delete rdc "$CLUSTER" -n "$NS" --timeout=90s
kubectl get rdc -n "$NS"

stage "Autoscaling: manifests/samples/autoscaling.yaml (pollInterval 1s, idle timeouts 8s for the demo)"
AS=elastic
sed -e "s#^  yellowdog:#  yellowdog:\n    apiURL: $YD_URL#" -e 's#pollInterval: 5s#pollInterval: 1s#' \
  -e 's#idleTimeout: 60s#idleTimeout: 8s#' -e 's#idleTimeout: 5m#idleTimeout: 8s#' \
  manifests/samples/autoscaling.yaml | kubectl apply -n "$NS" -f -
ajp() { kubectl get rdc "$AS" -n "$NS" -o "jsonpath=$1" 2>/dev/null || true; }
pool_of() { ajp "{.status.workerPools[?(@.name==\"$1\")].$2}"; }
# One line per change: each pool's target (desiredNodes) and ready nodes, and AutoscalingReady.
watch_pools() {  # CPU GPU: until both pools have that many ready nodes as their target
  local i line last=""
  for ((i = 0; i < 150; i++)); do
    local cd cr gd gr ar
    cd=$(pool_of cpu desiredNodes) cr=$(pool_of cpu readyNodes) gd=$(pool_of gpu desiredNodes) gr=$(pool_of gpu readyNodes)
    ar=$(ajp '{.status.conditions[?(@.type=="AutoscalingReady")].reason}')
    line=$(printf 'cpu %s target / %s ready   gpu %s target / %s ready   AutoscalingReady: %s' \
      "${cd:-0}" "${cr:-0}" "${gd:-0}" "${gr:-0}" "${ar:--}")
    if [ "$line" != "$last" ]; then echo "$line"; last=$line; fi
    [ "${cd:-0}" = "$1" ] && [ "${cr:-0}" = "$1" ] && [ "${gd:-0}" = "$2" ] && [ "${gr:-0}" = "$2" ] && return 0
    sleep 1
  done
  echo "pools did not reach cpu $1, gpu $2" >&2; return 1
}
kubectl wait --for=condition=Ready "rdc/$AS" -n "$NS" --timeout=120s
watch_pools 1 0
demand() {  # JSON: the Ray demand the simulated head reports from now on
  curl -fsS -X POST -H 'Content-Type: application/json' --data "$1" \
    "$YD_URL/_sim/ray/heads/$(ajp '{.status.head.taskId}')/demand" >/dev/null
}
echo "Ray reports pending work: 4 x {CPU: 8} and 1 x {GPU: 1}"
demand '{"pending": [{"shape": {"CPU": 8}, "count": 4}, {"shape": {"GPU": 1}, "count": 1}]}'
watch_pools 4 1
kubectl get events -n "$NS" --field-selector "involvedObject.name=$AS,reason=ScaledUp" \
  -o custom-columns=REASON:.reason,MESSAGE:.message --no-headers
echo "The work is done: every worker goes idle, and is drained and released after its idle timeout"
demand '{}'
watch_pools 1 0
kubectl get events -n "$NS" --field-selector "involvedObject.name=$AS,reason=ScaledDown" \
  -o custom-columns=REASON:.reason,MESSAGE:.message --no-headers

stage "Reaching the cluster: 'kubectl raydog get' (plugin/kubectl-raydog) and the head Service"
kubectl raydog get -n "$NS"
kubectl raydog endpoints "$AS" -n "$NS"
kubectl get service,endpointslice -n "$NS" -l "raydog.io/cluster=$AS"
kubectl delete rdc "$AS" -n "$NS" --timeout=90s

stage "YellowDog after deletion (from the simulator)"
sim objects | python3 -c '
import json, sys
objs = json.load(sys.stdin)
def count(kind):
    items = objs.get(kind, [])
    states = {}
    for o in items:
        states[o.get("status", "?")] = states.get(o.get("status", "?"), 0) + 1
    return "%d %s" % (len(items), states)
for kind in ("workRequirements", "workerPools", "computeRequirements", "tasks"):
    print("%-20s %s" % (kind + ":", count(kind)))
live = [p["name"] for p in objs.get("workerPools", []) if p.get("status") not in ("SHUTDOWN", "TERMINATED")]
wrs = [w["name"] for w in objs.get("workRequirements", []) if w.get("status") not in ("CANCELLED", "COMPLETED", "FAILED")]
if live or wrs:
    print("LEAKED:", live + wrs); sys.exit(1)
print("clean: every work requirement finished, every pool shut down")
'
echo "YellowDog calls by endpoint:"
sim stats | python3 -c '
import json, sys
s = json.load(sys.stdin)
calls = s.get("calls", {})
for k in sorted(calls): print("  %5d  %s" % (calls[k], k))
'

stage "Done in $(($(date +%s) - T0))s"
