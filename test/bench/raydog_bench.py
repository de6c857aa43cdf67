#!/usr/bin/python3
"""raydog-bench: scale, memory and API economy of raydog-operator, measured side by side (issue 8).

Starts kube-emulator, yellowdog-sim (zero delays) and raydog-operator on free loopback ports, creates N
RayDogClusters (1 head + 2 worker pools x 2 nodes) straight over HTTP, and measures: time to every head task
requested and to every cluster Ready, the operator's RSS (idle, peak, after Ready, bytes per cluster), CPU
seconds of all three processes, YellowDog calls per built cluster against the minimum the mapping needs,
Kubernetes writes per built cluster, a steady window with no changes, and reconcile time p50/p99 from the
operator's own histogram. Prints a table and writes results.json. Standard library only.

Exit code: 0 when every run was measured (goals missed or not), 1 when the harness itself failed.
"""
import argparse
import ctypes
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from datetime import datetime

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

GOALS = {
    "rss_idle_mb": 20.0,
    # 27.5 MB before gRPC (issue 19 measured 12 MB of gRPC runtime in a client process): 45 MB with the Ray view.
    "rss_peak_mb_1000": 45.0,
    "head_requested_s_1000": 10.0,
    "yd_calls_ratio": 1.3,
    "steady_k8s_writes": 0,
    "steady_yd_calls_per_cluster_min": 1.0,
    "steady_gcs_calls_per_cluster_min": 1.0,
    "noop_p99_ms": 5.0,
    # Issue 23, at N=10,000.
    "head_requested_s_10000": 60.0,
    "rss_peak_mb_10000": 120.0,
    "steady_yd_calls_per_cluster_min_10000": 0.05,
    "noop_p99_ms_10000": 2.0,
    "detect_p99_s": 5.0,
}


class HarnessError(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# The spec every cluster gets, and the minimum number of YellowDog calls the mapping needs for it.

def cluster_spec(sim_url, yd_namespace, pools=2, nodes=2):
    return {
        "yellowdog": {
            "apiURL": sim_url,
            "namespace": yd_namespace,
            "credentialsSecretRef": {"name": "yellowdog-credentials"},
        },
        "head": {"computeRequirementTemplate": "ray/ray-head-small"},
        "workerPools": [
            {"name": f"pool{i}", "nodes": nodes, "computeRequirementTemplate": "ray/ray-worker-small"}
            for i in range(pools)
        ],
    }


def minimum_yellowdog_calls(spec):
    """The calls controller/reconcile/README.md's mapping cannot do without, for one cluster built from
    nothing to Ready with no failure (derived from the spec, not from what the operator happened to do).
    Returns (total, itemised dict)."""
    obs = bool((spec.get("observability") or {}).get("enabled"))
    pools = [p for p in spec.get("workerPools") or [] if p.get("nodes", 0) > 0]
    kinds = 1 + (1 if obs else 0) + len(pools)  # node kinds that get a pool
    items = {
        # Deterministic names: every create is preceded by a lookup (design.md sec. 5): the WR by name and
        # the namespace's pools (one page at least).
        "lookups before create (WR by name, pool search)": 2,
        "pool provisions (head, observability, each worker pool)": kinds,
        "work requirement create (all task groups in it)": 1,
        "head/observability task adds": 1 + (1 if obs else 0),
        # The head's task must be seen EXECUTING (and its worker id known) before its IP can be resolved;
        # the observability node likewise.
        "reads to see head/observability EXECUTING (task search)": 1 + (1 if obs else 0),
        # IP lookups: worker -> node (private IP), CR -> instances (public IP) per resolved node.
        "IP lookups (node of worker, instances of CR)": 2 * (1 + (1 if obs else 0)),
        "worker task adds (one per pool)": len(pools),
        # Ready needs the workers seen EXECUTING: one WR read carries every group's task summary.
        "read to see workers EXECUTING (WR task summary)": 1,
        # status.workerPools[] and the head/observability pool report poolStatus and registeredNodes: each
        # pool must be read once it runs (claimed by its tasks), or the status would show PENDING/0 forever.
        "pool reads for the pool status (one per pool, once running)": kinds,
    }
    return sum(items.values()), items


# ---------------------------------------------------------------------------------------------------
# Processes

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_file(path, proc, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return open(path).read().strip()
        if proc.poll() is not None:
            raise HarnessError(f"{proc.args[0]} exited with {proc.returncode} before writing {path}")
        time.sleep(0.05)
    raise HarnessError(f"{proc.args[0]} did not write {path} within {timeout}s")


def _die_with_parent():
    """In the child: SIGTERM when the harness dies (Ctrl-C on make bench, a killed CI job)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Proc:
    def __init__(self, name, argv, logdir):
        self.name = name
        self.log_path = os.path.join(logdir, f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  preexec_fn=_die_with_parent)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def cpu_seconds(self):
        """utime + stime of the process and of its live children (yellowdog-sim's --ray head helpers)
        plus what its exited children left (cutime + cstime)."""
        def stat(pid):
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()
        try:
            fields = stat(self.pid)
            total = sum(int(fields[i]) for i in (11, 12, 13, 14))
        except (OSError, IndexError, ValueError):
            return None
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == self.pid:
                continue
            try:
                child = stat(entry)
                if int(child[1]) == self.pid:  # ppid
                    total += int(child[11]) + int(child[12])
            except (OSError, IndexError, ValueError):
                continue
        return total / CLK_TCK

    def mem_kb(self):
        """{'VmRSS': kB, 'VmHWM': kB}"""
        out = {}
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "VmHWM"):
                        out[k] = int(v.split()[0])
        except OSError:
            pass
        return out

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------------
# HTTP helpers (plain HTTP on loopback; one connection per thread, kept alive)

class Http:
    def __init__(self, base_url, timeout=60):
        u = urllib.parse.urlparse(base_url)
        self.host, self.port = u.hostname, u.port
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
                return r.status, payload
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise HarnessError("unreachable")

    def json(self, method, path, body=None, ok=(200, 201)):
        code, payload = self.request(method, path, body)
        if code not in ok:
            raise HarnessError(f"{method} {path} -> {code}: {payload[:300]!r}")
        return json.loads(payload) if payload else None

    def close(self):
        if self.conn:
            self.conn.close()


def parse_prometheus(text):
    """[(name, {label: value}, float)]"""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        labels = {}
        if "{" in line:
            name, rest = line.split("{", 1)
            body, value = rest.rsplit("}", 1)
            for part in _split_labels(body):
                k, _, v = part.partition("=")
                labels[k.strip()] = v.strip().strip('"')
        else:
            name, value = line.split(None, 1)
        try:
            out.append((name.strip(), labels, float(value.split()[0])))
        except (ValueError, IndexError):
            pass
    return out


def _split_labels(body):
    parts, cur, quoted = [], "", False
    for ch in body:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def histogram(samples, name, match):
    """Cumulative buckets [(le, count)] of histogram `name` whose labels include `match`, else None."""
    buckets = {}
    for n, labels, v in samples:
        if n != name + "_bucket":
            continue
        if any(labels.get(k) != want for k, want in match.items()):
            continue
        le = labels.get("le")
        le = float("inf") if le in ("+Inf", "Inf") else float(le)
        buckets[le] = buckets.get(le, 0) + v
    if not buckets:
        return None
    return sorted(buckets.items())


def histogram_diff(after, before):
    if after is None:
        return None
    if before is None:
        return after
    b = dict(before)
    return [(le, c - b.get(le, 0)) for le, c in after]


def quantile(buckets, q):
    """histogram_quantile(): linear interpolation inside the bucket (seconds)."""
    if not buckets:
        return None
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"):
                return prev_le  # the highest finite bound, as Prometheus does
            if c == prev_c:
                return le
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return prev_le


def metric_sum(samples, name, match=None):
    total, found = 0.0, False
    for n, labels, v in samples:
        if n == name and all(labels.get(k) == w for k, w in (match or {}).items()):
            total += v
            found = True
    return total if found else None


# ---------------------------------------------------------------------------------------------------
# The RayDogCluster watch: when each cluster first became Ready.

class ReadyWatch(threading.Thread):
    def __init__(self, base_url, path, resource_version):
        super().__init__(daemon=True)
        self.base_url, self.path, self.rv = base_url, path, resource_version
        self.ready_at = {}  # name -> time.time()
        self.lock = threading.Lock()
        self.stop_flag = False
        self.error = None

    def count(self):
        with self.lock:
            return len(self.ready_at)

    def run(self):
        u = urllib.parse.urlparse(self.base_url)
        while not self.stop_flag:
            try:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
                conn.request("GET", f"{self.path}?watch=1&allowWatchBookmarks=true&resourceVersion={self.rv}",
                             headers={"Accept": "application/json"})
                r = conn.getresponse()
                if r.status != 200:
                    raise HarnessError(f"watch -> {r.status}")
                buf = b""
                while not self.stop_flag:
                    chunk = r.read1(1 << 16)
                    if not chunk:
                        break
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        if line.strip():
                            self.handle(json.loads(line))
                conn.close()
            except socket.timeout:
                continue  # a quiet watch: re-watch from the last RV
            except Exception as e:  # noqa: BLE001 (reported in the results)
                if self.stop_flag:
                    return
                self.error = repr(e)
                time.sleep(0.2)

    def handle(self, ev):
        obj = ev.get("object") or {}
        if ev.get("type") == "ERROR":
            self.rv = ""  # expired: restart from now (Ready ones stay recorded)
            return
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv:
            self.rv = rv
        if ev.get("type") not in ("ADDED", "MODIFIED"):
            return
        name = obj["metadata"]["name"]
        for c in (obj.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready" and c.get("status") == "True":
                with self.lock:
                    self.ready_at.setdefault(name, time.time())


class Sampler(threading.Thread):
    """Operator RSS every 100 ms (peak also from VmHWM)."""

    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc = proc
        self.max_rss_kb = 0
        self.stop_flag = False

    def run(self):
        while not self.stop_flag and self.proc.alive():
            m = self.proc.mem_kb()
            self.max_rss_kb = max(self.max_rss_kb, m.get("VmRSS", 0))
            time.sleep(0.1)


# ---------------------------------------------------------------------------------------------------
# One run: fresh processes, N clusters.

def parse_ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def k8s_writes(before, after):
    """Kubernetes writes between two /_emulator/stats snapshots, by kind (the harness's own creates
    excluded)."""
    def d(key):
        return after["requests"].get(key, 0) - before["requests"].get(key, 0)

    cr = "raydogclusters.raydog.io"
    out = {
        "statusPatches": d(f"PATCH {cr}/status") + d(f"PUT {cr}/status"),
        "finalizerUpdates": d(f"PATCH {cr}") + d(f"PUT {cr}"),
        "events": sum(d(f"{m} {r}") for m in ("POST", "PATCH", "PUT")
                      for r in ("events", "events.events.k8s.io")),
    }
    all_writes = after["writes"] - before["writes"]
    own = d(f"POST {cr}")  # the harness's creates
    out["other"] = all_writes - own - sum(out.values())
    out["total"] = all_writes - own
    return out


def post_all(server, requests, threads, what):
    """POSTs every (path, body) of `requests` from `threads` connections at once; each must answer 201."""
    errors = []

    def poster(chunk):
        h = Http(server)
        for path, body in chunk:
            code, payload = h.request("POST", path, body)
            if code != 201:
                errors.append(f"{what} {body['metadata']['name']}: {code} {payload[:200]!r}")
        h.close()

    workers = [threading.Thread(target=poster, args=(requests[i::threads],)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    if errors:
        raise HarnessError(f"{len(errors)} {what} creates failed, first: {errors[0]}")


def create_clusters(server, cr_path, ns, names, spec, threads):
    """One RayDogCluster with `spec` per name."""
    post_all(server, [(cr_path, {"apiVersion": "raydog.io/v1alpha1", "kind": "RayDogCluster",
                                 "metadata": {"name": name, "namespace": ns}, "spec": spec}) for name in names],
             threads, "cluster")


def create_config_maps(server, ns, n, threads):
    """n ConfigMaps no cluster names (a key of ~100 bytes each)."""
    post_all(server, [(f"/api/v1/namespaces/{ns}/configmaps",
                       {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"unrelated-{i:05d}"},
                        "data": {"app.properties": "x" * 100}}) for i in range(n)],
             threads, "ConfigMap")


def scrape_metrics(metrics):
    """The operator's /metrics as parse_prometheus() samples ([] when it does not answer)."""
    try:
        code, body = metrics.request("GET", "/metrics")
        return parse_prometheus(body.decode()) if code == 200 else []
    except OSError:
        return []


class Stack:
    """The three processes of a run on free loopback ports, and clients for them."""


def start_stack(args, workdir, procs):
    """Starts yellowdog-sim (zero delays; --ray unless args.ray is false), kube-emulator with the CRD, a
    namespace "bench" and its credentials Secret, and raydog-operator (ready); appends each process to
    `procs` (the caller stops them)."""
    bin_dir = args.bin_dir
    # --- simulator (zero delays)
    sim_url_file = os.path.join(workdir, "sim.url")
    sim = Proc("yellowdog-sim", [os.path.join(bin_dir, "yellowdog-sim"), "--listen", "127.0.0.1:0",
                                 "--write-url", sim_url_file, "--boot-delay", "0", "--register-delay", "0",
                                 "--task-start-delay", "0"] + (["--ray"] if args.ray else [])
               + args.sim_flag, workdir)
    procs.append(sim)
    sim_url = wait_for_file(sim_url_file, sim.p, 30).splitlines()[0].strip()
    # --- emulator
    kubeconfig = os.path.join(workdir, "kubeconfig")
    emu = Proc("kube-emulator", [os.path.join(bin_dir, "kube-emulator"), "--listen", "127.0.0.1:0",
                                 "--write-kubeconfig", kubeconfig, "--allow-loopback-endpoints"], workdir)
    procs.append(emu)
    wait_for_file(kubeconfig, emu.p, 30)
    server = next(line.split("server:", 1)[1].strip() for line in open(kubeconfig) if "server:" in line)
    kube = Http(server)
    simh = Http(sim_url)
    # CRD (YAML: one kubectl process for it), namespace and Secret over HTTP.
    crd = os.path.join(args.source_dir, "crds", "raydog.io_raydogclusters.yaml")
    env = dict(os.environ, HOME=workdir, KUBECACHEDIR=os.path.join(workdir, "kubecache"))
    r = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "apply", "-f", crd], env=env,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise HarnessError("kubectl apply CRD failed: " + r.stderr)
    ns = "bench"
    kube.json("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": ns}})
    kube.json("POST", f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "yellowdog-credentials"},
        "stringData": {"keyId": "bench-key-id", "keySecret": "bench-key-secret"}})
    cr_path = f"/apis/raydog.io/v1alpha1/namespaces/{ns}/raydogclusters"
    for _ in range(100):  # the CRD's resource is served right after apply; be tolerant anyway
        code, _ = kube.request("GET", cr_path)
        if code == 200:
            break
        time.sleep(0.1)
    # --- operator
    mport, hport = free_port(), free_port()
    op_argv = [os.path.join(bin_dir, "raydog-operator"), "run", "--kubeconfig", kubeconfig,
               "--metrics-bind-address", f"127.0.0.1:{mport}",
               "--health-probe-bind-address", f"127.0.0.1:{hport}",
               "--log-format", "json", "--log-level", "info",
               "--yellowdog-allowed-urls", "http://127.0.0.1:*"] + args.operator_flag
    op = Proc("raydog-operator", op_argv, workdir)
    procs.append(op)
    health = Http(f"http://127.0.0.1:{hport}", timeout=5)
    metrics = Http(f"http://127.0.0.1:{mport}", timeout=30)
    deadline = time.time() + 30
    while True:
        if not op.alive():
            raise HarnessError(f"raydog-operator exited with {op.p.returncode} (see {op.log_path})")
        try:
            if health.request("GET", "/readyz")[0] == 200:
                break
        except OSError:
            pass
        if time.time() > deadline:
            raise HarnessError("raydog-operator not ready within 30s")
        time.sleep(0.05)

    st = Stack()
    st.sim_url, st.server, st.kube, st.simh, st.op, st.metrics = sim_url, server, kube, simh, op, metrics
    st.ns, st.cr_path, st.kubeconfig = ns, cr_path, kubeconfig
    return st


def run_one(args, n, workdir):
    os.makedirs(workdir, exist_ok=True)
    for stale in ("sim.url", "kubeconfig"):  # a previous run's files would be read as this run's
        if os.path.exists(os.path.join(workdir, stale)):
            os.remove(os.path.join(workdir, stale))
    res = {"n": n}
    procs = []
    try:
        stack = start_stack(args, workdir, procs)
        sim_url, server, kube, simh, op, metrics = (stack.sim_url, stack.server, stack.kube, stack.simh, stack.op,
                                                    stack.metrics)
        ns, cr_path = stack.ns, stack.cr_path

        def scrape():
            return scrape_metrics(metrics)

        # --- idle
        time.sleep(args.idle_seconds)
        res["rssIdleMB"] = op.mem_kb().get("VmRSS", 0) / 1024
        if args.configmaps:
            # Unrelated ConfigMaps: the operator watches ConfigMaps (edits roll the pools that read them) but
            # caches only metadata and a digest; its RSS may grow by at most 5 MB for 10,000 of them.
            create_config_maps(server, ns, args.configmaps, args.create_threads)
            time.sleep(args.idle_seconds + 2)
            res["configMaps"] = args.configmaps
            res["rssConfigMapsGrowthMB"] = op.mem_kb().get("VmRSS", 0) / 1024 - res["rssIdleMB"]
        sampler = Sampler(op)
        sampler.start()

        # --- watch, then create N clusters
        lst = kube.json("GET", cr_path)
        watch = ReadyWatch(server, cr_path, lst["metadata"]["resourceVersion"])
        watch.start()
        spec = cluster_spec(sim_url, args.yd_namespace)
        if args.head_access:
            spec["headAccess"] = args.head_access
        min_calls, min_items = minimum_yellowdog_calls(spec)
        res["ydMinimumPerCluster"] = min_calls
        res["ydMinimumItems"] = min_items
        cpu0 = {p.name: p.cpu_seconds() for p in procs}
        emu0 = kube.json("GET", "/_emulator/stats")
        sim0 = simh.json("GET", "/_sim/stats")
        m0 = scrape()
        names = [f"rdc-{i:05d}" for i in range(n)]
        t0 = time.time()
        create_clusters(server, cr_path, ns, names, spec, args.create_threads)
        res["createSeconds"] = time.time() - t0
        log(f"N={n}: created in {res['createSeconds']:.2f}s; waiting for Ready")

        # --- until every cluster is Ready (or the timeout: then the figures say so)
        deadline = t0 + args.ready_timeout
        last_report = time.time()
        while watch.count() < n and time.time() < deadline:
            if not op.alive():
                raise HarnessError(f"raydog-operator died (see {op.log_path})")
            time.sleep(0.1)
            if time.time() - last_report > 10:
                log(f"N={n}: {watch.count()}/{n} Ready after {time.time() - t0:.0f}s")
                last_report = time.time()
        ready_count = watch.count()
        res["readyClusters"] = ready_count
        res["allReady"] = ready_count == n
        with watch.lock:
            res["timeToAllReadyS"] = (max(watch.ready_at.values()) - t0) if ready_count == n else None
            res["timeToHalfReadyS"] = (sorted(watch.ready_at.values())[n // 2] - t0) if ready_count > n // 2 \
                else None
        t_ready = time.time()
        cpu_ready = {p.name: p.cpu_seconds() for p in procs}
        res["rssAfterReadyMB"] = op.mem_kb().get("VmRSS", 0) / 1024
        log(f"N={n}: {ready_count}/{n} Ready after {t_ready - t0:.1f}s")

        # --- settle: the last converging requeues (2s) end; then the build is over
        settle_deadline = time.time() + args.settle_max
        last_calls, quiet_since = -1, time.time()
        while time.time() < settle_deadline:
            calls = simh.json("GET", "/_sim/stats")["totalCalls"]
            if calls != last_calls:
                last_calls, quiet_since = calls, time.time()
            elif time.time() - quiet_since >= args.settle_quiet:
                break
            time.sleep(0.25)
        emu1 = kube.json("GET", "/_emulator/stats")
        sim1 = simh.json("GET", "/_sim/stats")
        m1 = scrape()
        cpu1 = {p.name: p.cpu_seconds() for p in procs}
        build_calls = sim1["totalCalls"] - sim0["totalCalls"]
        res["ydCallsPerCluster"] = build_calls / n
        res["ydCallsRatio"] = res["ydCallsPerCluster"] / min_calls
        res["ydCallsByEndpoint"] = {k: v - sim0["calls"].get(k, 0) for k, v in sim1["calls"].items()
                                    if v - sim0["calls"].get(k, 0)}
        w = k8s_writes(emu0, emu1)
        res["k8sWritesPerCluster"] = {k: v / n for k, v in w.items()}

        # --- head tasks requested: the simulator records no creation time for tasks, so the bound is
        # each head task's startedTime (EXECUTING; with zero delays within a few 50 ms scheduler ticks of
        # the request). One /_sim/objects read, after the build.
        objs = simh.json("GET", "/_sim/objects")
        heads = [t for t in objs["tasks"] if str(t.get("name", "")).startswith("head-")]
        started = [parse_ts(t["startedTime"]) for t in heads if t.get("startedTime")]
        res["headTasks"] = len(heads)
        res["timeToAllHeadTasksS"] = (max(started) - t0) if len(started) >= n else None
        # How the head starts spread over the build (a late tail or a late wave read differently).
        if started:
            offsets = sorted(s - t0 for s in started)
            res["headTaskStartsS"] = {f"p{q}": offsets[min(len(offsets) - 1, len(offsets) * q // 100)]
                                      for q in (10, 50, 90, 99)}
        wr_count = len(objs["workRequirements"])
        res["duplicates"] = {"workRequirements": wr_count - n, "workerPools": len(objs["workerPools"]) - 3 * n,
                             "tasks": len(objs["tasks"]) - 5 * n}
        del objs

        # --- steady window: no changes. Its own baselines, taken now: the /_sim/objects read above takes
        # seconds at N=10000, and counting them into a 60 s window made steady rates read ~17% high.
        emu_w = kube.json("GET", "/_emulator/stats")
        sim_w = simh.json("GET", "/_sim/stats")
        m_w = scrape()
        cpu_w = {p.name: p.cpu_seconds() for p in procs}
        log(f"N={n}: steady window {args.steady_window}s")
        time.sleep(args.steady_window)
        emu2 = kube.json("GET", "/_emulator/stats")
        sim2 = simh.json("GET", "/_sim/stats")
        m2 = scrape()
        cpu2 = {p.name: p.cpu_seconds() for p in procs}
        res["steadyWindowS"] = args.steady_window
        sw = k8s_writes(emu_w, emu2)
        res["steadyK8sWrites"] = sw["total"]
        res["steadyK8sWritesByKind"] = sw
        steady_calls = sim2["totalCalls"] - sim_w["totalCalls"]
        res["steadyYdCallsPerClusterMin"] = steady_calls / n / (args.steady_window / 60.0)
        # Ticks that walked the whole simulation (a quiet simulation skips them): the stand-in's own cost.
        res["simFullTicksSteady"] = sim2.get("fullTicks", 0) - sim_w.get("fullTicks", 0)
        def delta(name, match=None):  # an operator metric's growth over the window
            return (metric_sum(m2, name, match) or 0) - (metric_sum(m_w, name, match) or 0)
        # Calls to the heads (GCS and dashboard) the operator counted in the same window.
        res["steadyGcsCallsPerClusterMin"] = delta("raydog_ray_gcs_calls_total") / n / (args.steady_window / 60.0)
        # What the GCS calls went to: reconciles of the clusters, and the prefetched reads they used or
        # dropped (a dropped one is read again by its reconcile).
        res["steadyReconcilesPerClusterMin"] = (
            delta("controller_runtime_reconcile_total", {"controller": "raydogcluster"}) / n / (args.steady_window / 60.0))
        res["steadyPrefetchedReads"] = {r: delta("raydog_ray_prefetched_reads_total", {"result": r})
                                        for r in ("used", "dropped")}
        res["steadyYdCallsByEndpoint"] = {k: v - sim_w["calls"].get(k, 0) for k, v in sim2["calls"].items()
                                          if v - sim_w["calls"].get(k, 0)}
        res["rssSteadyEndMB"] = op.mem_kb().get("VmRSS", 0) / 1024
        # --- change detection, after the steady window (whose figures must hold steady traffic only)
        if args.losses > 0:
            res["detect"] = detect_losses(simh, args.yd_namespace, names, args.losses, args.detect_timeout)
            res["detectP99S"] = res["detect"]["p99S"]
        sampler.stop_flag = True
        watch.stop_flag = True
        mem = op.mem_kb()
        res["rssPeakMB"] = max(sampler.max_rss_kb, mem.get("VmHWM", 0)) / 1024
        baseline = res["rssIdleMB"] + res.get("rssConfigMapsGrowthMB", 0.0)  # before the clusters
        res["bytesPerCluster"] = (res["rssAfterReadyMB"] - baseline) * 1024 * 1024 / n
        res["cpuSeconds"] = {
            "build": {k: cpu1[k] - cpu0[k] for k in cpu0},
            "steady": {k: cpu2[k] - cpu_w[k] for k in cpu0},
        }
        # --- reconcile time from the operator's own metrics
        rt = {}
        for kind, before, after in (("noop", m0, m2), ("acting", m0, m2)):
            h = histogram_diff(histogram(after, "raydog_reconcile_time_seconds",
                                         {"controller": "raydogcluster", "kind": kind}),
                               histogram(before, "raydog_reconcile_time_seconds",
                                         {"controller": "raydogcluster", "kind": kind}))
            rt[kind] = {"count": h[-1][1] if h else None,
                        "p50ms": _ms(quantile(h, 0.5)), "p99ms": _ms(quantile(h, 0.99))}
        hs = histogram_diff(histogram(m2, "raydog_reconcile_time_seconds",
                                      {"controller": "raydogcluster", "kind": "noop"}),
                            histogram(m_w, "raydog_reconcile_time_seconds",
                                      {"controller": "raydogcluster", "kind": "noop"}))
        rt["noopSteady"] = {"count": hs[-1][1] if hs else None,
                            "p50ms": _ms(quantile(hs, 0.5)), "p99ms": _ms(quantile(hs, 0.99)),
                            # the cumulative buckets (le in ms): how the tail is made up
                            "buckets": [[_ms(le) if le != float("inf") else "+Inf", c] for le, c in (hs or [])]}
        # The operator's own CPU per steady reconcile: the latency above also holds the time spent waiting
        # on YellowDog (here the simulator, whose every tick walks all objects) and on a loaded machine.
        steady_count = rt["noopSteady"]["count"]
        steady_cpu = res["cpuSeconds"]["steady"]["raydog-operator"]
        rt["noopSteady"]["operatorCpuMsPerReconcile"] = (
            _ms(steady_cpu / steady_count) if steady_count else None)
        cr_h = histogram(m2, "controller_runtime_reconcile_time_seconds", {"controller": "raydogcluster"})
        s_sum = metric_sum(m2, "controller_runtime_reconcile_time_seconds_sum", {"controller": "raydogcluster"})
        s_cnt = metric_sum(m2, "controller_runtime_reconcile_time_seconds_count",
                           {"controller": "raydogcluster"})
        rt["all"] = {"count": s_cnt, "meanMs": _ms(s_sum / s_cnt) if s_sum is not None and s_cnt else None,
                     "p50ms": _ms(quantile(cr_h, 0.5)), "p99ms": _ms(quantile(cr_h, 0.99))}
        res["reconcileTime"] = rt
        op_calls = metric_sum(m2, "raydog_yellowdog_calls_total")
        res["operatorReportedYdCalls"] = op_calls
        res["ok"] = True
        kube.close()
        simh.close()
        return res
    finally:
        for p in reversed(procs):
            p.stop()


def _ms(seconds):
    return None if seconds is None else seconds * 1000.0


def _percentile(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))]


def detect_losses(simh, yd_ns, names, count, timeout):
    """`count` random clusters each lose the node of one EXECUTING worker task (POST /_sim/nodes/{id}/lose,
    one every 100 ms, so the losses fall anywhere between two observer scans). Each is timed from its
    injection to the startedTime of its replacement task (a new task in the same group; with zero delays it
    starts within a scheduler tick of its request: an upper bound, as for the head tasks). The YellowDog
    calls made here are the harness's: this phase comes after the steady window's counters."""
    rng = random.Random(23)
    by_cluster = {}
    page = None
    while True:  # the work requirements of the run, by cluster name (names are "rdc-<ns>-<cluster>...")
        path = f"/work/requirements?namespace={urllib.parse.quote(yd_ns)}&sliced=true&size=1000"
        if page:
            path += "&sliceId=" + urllib.parse.quote(page)
        sl = simh.json("GET", path)
        for wr in sl.get("items", []):
            by_cluster.setdefault(wr["name"], wr["id"])
        page = sl.get("nextSliceId")
        if not page or not sl.get("items"):
            break
    wr_ids = {}
    for wr_name, wr_id in by_cluster.items():
        # rdc-bench-rdc-00042-...: the cluster name sits after the namespace ("bench").
        parts = wr_name.split("-")
        if len(parts) >= 4:
            wr_ids["-".join(parts[2:4])] = wr_id
    chosen = rng.sample([n for n in names if n in wr_ids], min(count, len(wr_ids)))
    injected = []
    for name in chosen:
        wr = wr_ids[name]
        tasks = simh.json("GET", f"/work/tasks?workRequirementId={urllib.parse.quote(wr)}&statuses=EXECUTING")
        workers = [t for t in tasks.get("items", tasks if isinstance(tasks, list) else [])
                   if t.get("environment", {}).get("RAY_HEAD_IP") and t.get("nodeId")]
        if not workers:
            continue
        victim = rng.choice(workers)
        group = victim["taskGroupId"]
        before = {t["id"] for t in simh.json("GET", f"/work/tasks?taskGroupId={urllib.parse.quote(group)}")
                  .get("items", [])}
        at = time.time()
        simh.json("POST", f"/_sim/nodes/{urllib.parse.quote(victim['nodeId'])}/lose")
        injected.append({"cluster": name, "group": group, "before": before, "at": at})
        time.sleep(0.1)
    deadline = time.time() + timeout
    pending = list(injected)
    times = []
    while pending and time.time() < deadline:
        time.sleep(1.0)
        still = []
        for i in pending:
            tasks = simh.json("GET", f"/work/tasks?taskGroupId={urllib.parse.quote(i['group'])}").get("items", [])
            new = [parse_ts(t["startedTime"]) for t in tasks if t["id"] not in i["before"] and t.get("startedTime")]
            if new:
                times.append(max(0.0, min(new) - i["at"]))
            else:
                still.append(i)
        pending = still
    log(f"detection: {len(times)}/{len(injected)} losses replaced; p50 {_percentile(times, 0.5)} s, "
        f"p99 {_percentile(times, 0.99)} s")
    return {"injected": len(injected), "replaced": len(times), "p50S": _percentile(times, 0.5),
            "p99S": _percentile(times, 0.99), "maxS": max(times) if times else None}


# ---------------------------------------------------------------------------------------------------
# Output

def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def table(runs):
    def g(r, *path):
        for p in path:
            if r is None:
                return None
            r = r.get(p) if isinstance(r, dict) else None
        return r

    rows = [
        ("clusters Ready / N", lambda r: f"{r.get('readyClusters')}/{r['n']}", ""),
        ("create N objects (s)", lambda r: fmt(r.get("createSeconds"), 2), ""),
        ("first create -> all head tasks requested (s)", lambda r: fmt(r.get("timeToAllHeadTasksS"), 2),
         "<= 10 (N=1000), <= 60 (N=10000)"),
        ("first create -> all clusters Ready (s)", lambda r: fmt(r.get("timeToAllReadyS"), 2), ""),
        ("operator RSS idle (MB)", lambda r: fmt(r.get("rssIdleMB")), "<= 20"),
        ("  of which unrelated ConfigMaps (MB)",
         lambda r: f"{fmt(r.get('rssConfigMapsGrowthMB'))} ({r.get('configMaps', 0)})", "<= 5 for 10,000"),
        ("operator RSS peak (MB)", lambda r: fmt(r.get("rssPeakMB")), "<= 45 (N=1000), <= 120 (N=10000)"),
        ("operator RSS after all Ready (MB)", lambda r: fmt(r.get("rssAfterReadyMB")), ""),
        ("operator RSS end of steady window (MB)", lambda r: fmt(r.get("rssSteadyEndMB")), ""),
        ("bytes per cluster (after Ready - idle)", lambda r: fmt(r.get("bytesPerCluster"), 0), ""),
        ("CPU s build: operator", lambda r: fmt(g(r, "cpuSeconds", "build", "raydog-operator"), 2), ""),
        ("CPU s build: kube-emulator", lambda r: fmt(g(r, "cpuSeconds", "build", "kube-emulator"), 2), ""),
        ("CPU s build: yellowdog-sim", lambda r: fmt(g(r, "cpuSeconds", "build", "yellowdog-sim"), 2), ""),
        ("YellowDog calls per built cluster", lambda r: fmt(r.get("ydCallsPerCluster")), ""),
        ("  minimum the mapping needs", lambda r: fmt(r.get("ydMinimumPerCluster")), ""),
        ("  ratio to the minimum", lambda r: fmt(r.get("ydCallsRatio"), 2), "<= 1.3"),
        ("K8s writes per built cluster", lambda r: fmt(g(r, "k8sWritesPerCluster", "total"), 2), ""),
        ("  status patches", lambda r: fmt(g(r, "k8sWritesPerCluster", "statusPatches"), 2), ""),
        ("  finalizer updates", lambda r: fmt(g(r, "k8sWritesPerCluster", "finalizerUpdates"), 2), ""),
        ("  events", lambda r: fmt(g(r, "k8sWritesPerCluster", "events"), 2), ""),
        ("steady window (s)", lambda r: fmt(r.get("steadyWindowS"), 0), "60"),
        ("  K8s writes", lambda r: fmt(r.get("steadyK8sWrites")), "0"),
        ("  YellowDog calls per cluster per minute", lambda r: fmt(r.get("steadyYdCallsPerClusterMin"), 3),
         "<= 1, <= 0.05 (N=10000)"),
        ("  Ray head (GCS + dashboard) calls per cluster per minute",
         lambda r: fmt(r.get("steadyGcsCallsPerClusterMin"), 2), "<= 1"),
        ("    reconciles per cluster per minute", lambda r: fmt(r.get("steadyReconcilesPerClusterMin"), 2), ""),
        ("    prefetched head reads used / dropped",
         lambda r: f"{fmt(g(r, 'steadyPrefetchedReads', 'used'), 0)} / {fmt(g(r, 'steadyPrefetchedReads', 'dropped'), 0)}"
         if r.get("steadyPrefetchedReads") else "n/a", ""),
        ("  CPU s operator", lambda r: fmt(g(r, "cpuSeconds", "steady", "raydog-operator"), 2), ""),
        ("reconcile p50 / p99 no-op (ms)", lambda r: _pair(g(r, "reconcileTime", "noop")),
         "p99 <= 5, <= 2 (N=10000)"),
        ("reconcile p50 / p99 no-op, steady window (ms)", lambda r: _pair(g(r, "reconcileTime", "noopSteady")),
         ""),
        ("  operator CPU per steady reconcile (ms)",
         lambda r: fmt(g(r, "reconcileTime", "noopSteady", "operatorCpuMsPerReconcile"), 2), ""),
        ("reconcile p50 / p99 acting (ms)", lambda r: _pair(g(r, "reconcileTime", "acting")), ""),
        ("node loss -> replacement started p50 / p99 (s)",
         lambda r: f"{fmt(g(r, 'detect', 'p50S'), 2)} / {fmt(g(r, 'detect', 'p99S'), 2)}" if r.get("detect") else "n/a",
         "p99 <= 5"),
        ("  losses replaced / injected",
         lambda r: f"{g(r, 'detect', 'replaced')}/{g(r, 'detect', 'injected')}" if r.get("detect") else "n/a", ""),
        ("reconcile p50 / p99 all, controller-runtime (ms)", lambda r: _pair(g(r, "reconcileTime", "all")),
         ""),
    ]
    return render_table("figure", rows, runs)


def run_each(counts, run, what):
    """run(n) for each n; a harness failure is logged and recorded as {"n", "ok": False, "error"}.
    Returns (runs, failed)."""
    runs, failed = [], False
    for n in counts:
        log(f"{what} N={n}")
        try:
            runs.append(run(n))
        except Exception as e:  # noqa: BLE001 (a harness failure: reported, exit 1)
            failed = True
            log(f"N={n} failed: {e!r}\n{traceback.format_exc()}")
            runs.append({"n": n, "ok": False, "error": repr(e)})
    return runs, failed


def render_table(title, rows, runs):
    """A Markdown table: one row per (label, fn(run) -> text, goal), one column per run (N=...)."""
    head = [title] + [f"N={r['n']}" for r in runs] + ["goal"]
    body = [[label] + [fn(r) if r.get("ok") else "failed" for r in runs] + [goal] for label, fn, goal in rows]
    widths = [max(len(str(row[i])) for row in [head] + body) for i in range(len(head))]
    lines = ["| " + " | ".join(str(c).ljust(widths[i]) for i, c in enumerate(head)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)) + " |" for row in body]
    return "\n".join(lines)


def _pair(x):
    if not x:
        return "n/a"
    if x.get("p50ms") is None and x.get("meanMs") is not None:
        return f"mean {x['meanMs']:.2f} (no histogram)"
    return f"{fmt(x.get('p50ms'), 2)} / {fmt(x.get('p99ms'), 2)}"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    source_dir = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin-dir", default=os.path.join(source_dir, "build", "bench", "bin"),
                    help="where raydog-operator, kube-emulator and yellowdog-sim are")
    ap.add_argument("--source-dir", default=source_dir)
    ap.add_argument("--n", default="100,1000", help="comma-separated cluster counts (default 100,1000)")
    ap.add_argument("--steady-window", type=float, default=60.0, help="seconds with no changes (default 60)")
    ap.add_argument("--ready-timeout", type=float, default=240.0, help="give up waiting for Ready after S")
    ap.add_argument("--idle-seconds", type=float, default=3.0, help="wait before the idle RSS sample")
    ap.add_argument("--settle-quiet", type=float, default=3.0,
                    help="after Ready, the build ends once YellowDog saw no call for S seconds")
    ap.add_argument("--settle-max", type=float, default=20.0)
    ap.add_argument("--create-threads", type=int, default=4)
    ap.add_argument("--configmaps", type=int, default=10000,
                    help="unrelated ConfigMaps created before the clusters (RSS growth they cost; 0: none)")
    ap.add_argument("--yd-namespace", default="bench", help="YellowDog namespace of every cluster")
    ap.add_argument("--operator-flag", action="append", default=[], help="extra operator flag (repeatable)")
    ap.add_argument("--sim-flag", action="append", default=[], help="extra yellowdog-sim flag (repeatable)")
    ap.add_argument("--head-access", default="",
                    help="spec.headAccess of every cluster (None: the operator never contacts the heads)")
    ap.add_argument("--no-ray", dest="ray", action="store_false",
                    help="run yellowdog-sim without --ray (no fake Ray heads); implies --head-access None unless "
                         "given, since a cluster whose head never answers never gets RayReady")
    ap.add_argument("--losses", type=int, default=100,
                    help="node losses injected after the steady window to time change detection (0: none)")
    ap.add_argument("--detect-timeout", type=float, default=60.0,
                    help="give up on a loss whose replacement has not started after S")
    ap.add_argument("--out", default=os.path.join(source_dir, "build", "bench", "results.json"))
    ap.add_argument("--workdir", default=None, help="logs and kubeconfigs (default: next to --out)")
    args = ap.parse_args()
    if not args.ray and not args.head_access:
        args.head_access = "None"  # without fake heads the clusters would wait for Ray forever
    # "--operator-flag=--x=y" keeps argparse from reading the value as an option.
    counts = [int(x) for x in args.n.split(",") if x.strip()]
    workdir = args.workdir or os.path.join(os.path.dirname(os.path.abspath(args.out)), "runs")
    for b in ("raydog-operator", "kube-emulator", "yellowdog-sim"):
        if not os.access(os.path.join(args.bin_dir, b), os.X_OK):
            print(f"raydog-bench: {b} not found in {args.bin_dir}", file=sys.stderr)
            return 1
    started = time.time()
    runs, failed = run_each(counts, lambda n: run_one(args, n, os.path.join(workdir, f"n{n}")), "run")
    out = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())},
        "cluster": "1 head + 2 worker pools x 2 nodes, one YellowDog namespace",
        "goals": GOALS,
        "durationS": time.time() - started,
        "runs": runs,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2, sort_keys=True)
    print(table(runs))
    print(f"\nresults: {args.out} (logs in {workdir}); harness {'FAILED' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
