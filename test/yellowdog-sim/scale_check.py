#!/usr/bin/python3
"""What the simulator costs with N RayDog-shaped clusters (issue 23: 10,000), driven straight through its API.

    test/yellowdog-sim/scale_check.py [--n 10000] [--ray] [--sim build/sim-bench/bin/yellowdog-sim]

Starts a zero-delay simulator (RSS, threads and CPU below include its --ray helper processes), creates per cluster what the operator creates (a head pool of 1 node and two
worker pools of 2 nodes, one work requirement with a head group and two worker groups, the head task; once the
head EXECUTES, 4 worker tasks carrying RAY_HEAD_IP: 5 nodes and 5 tasks per cluster), then measures with
nothing happening: the simulator's RSS, threads and CPU, and the time of the calls a 10,000-cluster operator
makes (reads by name, the observer's finishedTime and statusChangedTime searches) and of /_sim/stats and
/_sim/objects. Standard library only; prints one table. Not part of `make test`.
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class Client:
    """One keep-alive connection, JSON in and out."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)

    def call(self, method, path, body=None, expect=200):
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data else {}
        for attempt in range(3):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
                if attempt == 2:
                    raise
        if r.status != expect:
            raise RuntimeError(f"{method} {path}: {r.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None, r


def family(pid):
    """The simulator and its helper processes (--ray beyond one process's open files)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [pid] + [int(c) for c in f.read().split()]
    except OSError:
        return [pid]


def proc_status(pid, helpers=True):
    """RSS and threads of the simulator plus (unless not `helpers`) its helpers, and how many helpers."""
    out = {"rss_mb": 0.0, "threads": 0, "helpers": len(family(pid)) - 1}
    for p in family(pid) if helpers else [pid]:
        with open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["rss_mb"] += int(line.split()[1]) / 1024
                if line.startswith("Threads:"):
                    out["threads"] += int(line.split()[1])
    return out


def cpu_seconds(pid):
    total = 0.0
    for p in family(pid):
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def idle_cpu(pid, seconds):
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) * 100 / seconds


def timed(fn, repeat):
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) * 1000 / repeat


def pool_body(name, nodes):
    return {"requirementTemplateUsage": {"templateId": "ray/ray-worker-small", "requirementName": name,
                                         "requirementNamespace": "scale", "targetInstanceCount": nodes},
            "provisionedProperties": {"createNodeWorkers": {"targetType": "PER_NODE", "targetCount": 1},
                                      "minNodes": 0, "maxNodes": nodes, "workerTag": name,
                                      "idleNodeShutdown": {"enabled": True, "timeout": "PT3M"},
                                      "idlePoolShutdown": {"enabled": True, "timeout": "PT3M"}}}


def group(name, tag):
    return {"name": name, "runSpecification": {"taskTypes": ["bash"], "workerTags": [tag], "namespaces": ["scale"]},
            "finishIfAllTasksFinished": True, "finishIfAnyTaskFailed": False}


def task(name, env=None):
    return {"name": name, "taskType": "bash", "arguments": ["taskdata.txt"],
            "taskData": "#!/usr/bin/bash\nray start --block\n", "environment": env or {}}


def in_parallel(items, threads, url, fn):
    """fn(client, item) for every item, on `threads` connections."""
    errors = []

    def work(part):
        c = Client(url)
        try:
            for item in part:
                fn(c, item)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    parts = [items[i::threads] for i in range(threads)]
    ts = [threading.Thread(target=work, args=(p,)) for p in parts]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def wait_for(c, what, pred, timeout=900):
    t0 = time.time()
    while True:
        stats, _ = c.call("GET", "/_sim/stats")
        if pred(stats):
            return time.time() - t0
        if time.time() - t0 > timeout:
            raise RuntimeError(f"timed out waiting for {what}: {json.dumps(stats['objects'])}")
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--ray", action="store_true")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--sim", default=os.path.join(ROOT, "build/sim-bench/bin/yellowdog-sim"))
    args = ap.parse_args()
    n = args.n
    tmp = tempfile.mkdtemp(prefix="sim-scale-")
    argv = [args.sim, "--listen", "127.0.0.1:0", "--write-url", f"{tmp}/url", "--boot-delay", "0",
            "--register-delay", "0", "--task-start-delay", "0"] + (["--ray"] if args.ray else [])
    err = open(f"{tmp}/stderr", "w")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
    rows = []
    try:
        for _ in range(300):
            if os.path.exists(f"{tmp}/url") and open(f"{tmp}/url").read().strip():
                break
            time.sleep(0.1)
        url = open(f"{tmp}/url").read().strip()
        c = Client(url)
        time.sleep(1)
        st = proc_status(proc.pid)
        rows.append(("just started: RSS MB / threads", "%.1f / %d" % (st["rss_mb"], st["threads"])))

        t0 = time.time()
        cpu0 = cpu_seconds(proc.pid)
        wr_ids = {}

        def create(cl, i):
            name = f"c{i:05d}"
            for pool, nodes in (("head", 1), ("pool0", 2), ("pool1", 2)):
                cl.call("POST", "/workerPools/provisioned/template", pool_body(f"{name}-{pool}", nodes))
            wr, _ = cl.call("POST", "/work/requirements",
                            {"namespace": "scale", "name": name,
                             "taskGroups": [group("head-node", f"{name}-head"), group("pool0", f"{name}-pool0"),
                                            group("pool1", f"{name}-pool1")]})
            wr_ids[i] = wr
            cl.call("POST", "/work/taskGroups/" + urllib.parse.quote(wr["taskGroups"][0]["id"]) + "/tasks",
                    [task("head")])

        in_parallel(list(range(n)), args.threads, url, create)
        created = time.time() - t0
        waited = wait_for(c, "heads EXECUTING", lambda s: s["objects"]["tasks"].get("EXECUTING", 0) == n)
        rows.append(("create %d clusters (5 calls each), s" % n, "%.1f" % created))
        rows.append(("... then every head task EXECUTING, s", "%.1f" % (created + waited)))
        head_ip = {}
        if args.ray:
            t1 = time.time()
            while True:
                heads, _ = c.call("GET", "/_sim/ray/heads")
                if len(heads) == n:
                    break
                time.sleep(0.5)
            rows.append(("... then every fake head serving, s", "%.1f" % (time.time() - t0)))
            rows.append(("    (GET /_sim/ray/heads of %d heads, s)" % n, "%.2f" % (time.time() - t1)))
            head_ip = {h["task"]: h["privateIp"] for h in heads}

        def workers(cl, i):
            wr = wr_ids[i]
            head_task = wr["id"].replace("ydid:workreq:", "ydid:task:") + ":1:1"
            env = {"RAY_HEAD_IP": head_ip[head_task]} if args.ray else {}
            for g in (1, 2):
                cl.call("POST", "/work/taskGroups/" + urllib.parse.quote(wr["taskGroups"][g]["id"]) + "/tasks",
                        [task(f"w{g}-1", env), task(f"w{g}-2", env)])

        t2 = time.time()
        in_parallel(list(range(n)), args.threads, url, workers)
        wait_for(c, "all tasks EXECUTING", lambda s: s["objects"]["tasks"].get("EXECUTING", 0) == 5 * n)
        rows.append(("add 4 worker tasks per cluster, all EXECUTING, s", "%.1f" % (time.time() - t2)))
        rows.append(("simulator CPU during the build, s", "%.1f" % (cpu_seconds(proc.pid) - cpu0)))
        time.sleep(3)
        st = proc_status(proc.pid)
        rows.append(("%d clusters steady: RSS MB / threads (with %d helper processes)" % (n, st["helpers"]),
                     "%.1f / %d" % (st["rss_mb"], st["threads"])))
        if st["helpers"]:
            own = proc_status(proc.pid, helpers=False)
            rows.append(("    of which the simulator's own process", "%.1f / %d" % (own["rss_mb"], own["threads"])))
        rows.append(("CPU of one core, nothing happening (10 s), %", "%.1f" % idle_cpu(proc.pid, 10)))

        # The calls of a steady operator and of an observer, timed one by one (ms per call).
        stats, resp = c.call("GET", "/_sim/stats")
        since = stats["now"]
        names = [f"c{i:05d}" for i in range(0, n, max(1, n // 200))]
        k = iter(range(10**9))
        rows.append(("GET a work requirement by name, ms", "%.2f" % timed(
            lambda: c.call("GET", "/work/namespaces/scale/requirements/" + names[next(k) % len(names)]), 200)))
        rows.append(("GET /work/tasks?finishedTime.min=<now> (account-wide), ms", "%.2f" % timed(
            lambda: c.call("GET", "/work/tasks?finishedTime.min=" + since), 200)))
        rows.append(("GET /work/requirements?namespace&statusChangedTime.min=<now>&sliced, ms", "%.2f" % timed(
            lambda: c.call("GET", "/work/requirements?sliced=true&namespace=scale&statusChangedTime.min=" + since), 200)))
        rows.append(("GET /work/tasks?workRequirementId (5 tasks), ms", "%.2f" % timed(
            lambda: c.call("GET", "/work/tasks?workRequirementId=" + urllib.parse.quote(wr_ids[next(k) % n]["id"])), 200)))
        rows.append(("GET /work/tasks (account-wide, first page of 50), ms", "%.1f" % timed(
            lambda: c.call("GET", "/work/tasks"), 10)))
        rows.append(("GET /work/requirements?sliced&namespace (first page), ms", "%.1f" % timed(
            lambda: c.call("GET", "/work/requirements?sliced=true&namespace=scale"), 10)))
        rows.append(("GET /_sim/stats, ms", "%.1f" % timed(lambda: c.call("GET", "/_sim/stats"), 5)))
        t3 = time.perf_counter()
        c.conn.request("GET", "/_sim/objects")
        raw = c.conn.getresponse().read()
        rows.append(("GET /_sim/objects (%.0f MB of JSON, unparsed), s" % (len(raw) / 1e6),
                     "%.2f" % (time.perf_counter() - t3)))
        del raw
        # Change detection: 100 nodes lost, then what the observer's next search finds.
        victims = [wr_ids[i] for i in range(0, n, max(1, n // 100))][:100]
        stats, _ = c.call("GET", "/_sim/stats")
        since = stats["now"]
        for wr in victims:
            tasks, _ = c.call("GET", "/work/tasks?workRequirementId=" + urllib.parse.quote(wr["id"]) + "&name=w1-1")
            c.call("POST", "/_sim/nodes/" + urllib.parse.quote(tasks["items"][0]["nodeId"]) + "/lose")
        found, _ = c.call("GET", "/work/tasks?size=1000&finishedTime.min=" + since)
        rows.append(("100 nodes lost: found by one finishedTime.min search", "%d" % len(found["items"])))
        st = proc_status(proc.pid)
        rows.append(("at the end: RSS MB / threads", "%.1f / %d" % (st["rss_mb"], st["threads"])))
    finally:
        proc.terminate()
        proc.wait(30)
        err.close()
        log = open(f"{tmp}/stderr").read().strip()
        if log:
            print("simulator stderr (first lines):\n  " + "\n  ".join(log.splitlines()[:5]), file=sys.stderr)
    width = max(len(r[0]) for r in rows)
    print(f"yellowdog-sim{' --ray' if args.ray else ''}, {n} clusters")
    for k_, v in rows:
        print(f"  {k_:<{width}}  {v}")


if __name__ == "__main__":
    main()
