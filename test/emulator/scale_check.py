#!/usr/bin/python3
"""What kube-emulator costs with N RayDogClusters (issue 23: 10,000), driven straight through its API.

    test/emulator/scale_check.py [--n 10000] [--emulator build/sim-bench/bin/kube-emulator]

Starts the emulator, applies the RayDogCluster CRD, opens a watch on the clusters (as the operator does) and
then, timing each phase: creates N clusters (4 connections), lists them (one list, and pages of 500), adds a
finalizer to each (merge patch), writes each one's status once (merge patch on /status, a status as the
operator writes it) and posts an Event per cluster. Reports the emulator's RSS and threads after each phase,
its CPU over the run and with nothing happening, and checks that the watch saw every change. Standard library
plus PyYAML (python3-yaml) for the CRD. Not part of `make test`.
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

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CR = "/apis/raydog.io/v1alpha1/namespaces/scale/raydogclusters"


class Client:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.conn = http.client.HTTPConnection(host, port, timeout=600)

    def call(self, method, path, body=None, content_type="application/json", expect=(200, 201)):
        data = None if body is None else json.dumps(body)
        self.conn.request(method, path, body=data, headers={"Content-Type": content_type} if data else {})
        r = self.conn.getresponse()
        raw = r.read()
        if r.status not in expect:
            raise RuntimeError(f"{method} {path}: {r.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                out["rss"] = int(line.split()[1]) / 1024
            if line.startswith("Threads:"):
                out["threads"] = int(line.split()[1])
    return "%.1f MB / %d" % (out["rss"], out["threads"])


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def in_parallel(items, threads, host, port, fn):
    errors = []

    def work(part):
        c = Client(host, port)
        try:
            for item in part:
                fn(c, item)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(items[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def spec(i):
    return {"yellowdog": {"apiURL": "http://127.0.0.1:1", "namespace": "scale",
                          "credentialsSecretRef": {"name": "yellowdog-credentials"}},
            "head": {"computeRequirementTemplate": "ray/ray-head-small"},
            "workerPools": [{"name": f"pool{p}", "nodes": 2, "computeRequirementTemplate": "ray/ray-worker-small"}
                            for p in range(2)]}


def status(i):
    now = "2026-01-01T00:00:00Z"
    return {"phase": "Running", "observedGeneration": 1, "desiredWorkers": 4, "readyWorkers": 4,
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": now, "reason": "Ready",
                            "message": "all good", "observedGeneration": 1}
                           for t in ("Ready", "HeadReady", "WorkersReady", "RayReady")],
            "head": {"taskId": f"ydid:task:000000:{i:08d}-0000-4000-8000-000000000000:1:1", "taskStatus": "EXECUTING",
                     "privateIP": "127.2.0.1", "publicIP": "127.2.128.1", "nodeId": f"ydid:node:000000:{i}",
                     "workerPoolId": f"ydid:wrkrpool:000000:{i}"},
            "workRequirement": {"id": f"ydid:workreq:000000:{i}", "name": f"c{i:05d}", "status": "RUNNING"},
            "workerPools": [{"name": f"pool{p}", "desiredNodes": 2, "readyNodes": 2, "registeredNodes": 2,
                             "rayNodes": 2, "failedTasks": 0, "health": "Healthy", "poolStatus": "RUNNING",
                             "workerPoolId": f"ydid:wrkrpool:000000:{i}-{p}", "workerTag": f"c{i:05d}-pool{p}",
                             "taskGroupId": f"ydid:taskgrp:000000:{i}:{p + 2}",
                             "computeRequirementId": f"ydid:compreq:000000:{i}-{p}"} for p in range(2)],
            "ray": {"reachable": True, "sessionName": "session_x", "version": "2.49.2",
                    "nodes": {"alive": 5, "dead": 0}, "totalResources": {"CPU": "4"}},
            "endpoints": {"gcs": "127.2.0.1:6379", "dashboard": "http://127.2.0.1:8265"}}


class Watch(threading.Thread):
    """A watch on the clusters from a resourceVersion, counting events by type."""

    def __init__(self, host, port, rv):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection(host, port, timeout=3600)
        self.path = f"{CR}?watch=true&allowWatchBookmarks=true&resourceVersion={rv}"
        self.counts = {}

    def run(self):
        self.conn.request("GET", self.path)
        r = self.conn.getresponse()
        while True:
            line = r.readline()
            if not line:
                return
            t = json.loads(line)["type"]
            self.counts[t] = self.counts.get(t, 0) + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--emulator", default=os.path.join(ROOT, "build/sim-bench/bin/kube-emulator"))
    args = ap.parse_args()
    n = args.n
    tmp = tempfile.mkdtemp(prefix="emu-scale-")
    kubeconfig = f"{tmp}/kubeconfig"
    proc = subprocess.Popen([args.emulator, "--listen", "127.0.0.1:0", "--write-kubeconfig", kubeconfig],
                            stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/stderr", "w"))
    rows = []
    try:
        for _ in range(300):
            if os.path.exists(kubeconfig):
                break
            time.sleep(0.1)
        server = next(line.split("server:", 1)[1].strip() for line in open(kubeconfig) if "server:" in line)
        host, port = server.split("//")[1].split(":")
        port = int(port)
        c = Client(host, port)
        rows.append(("just started: RSS / threads", proc_status(proc.pid)))
        crd = yaml.safe_load(open(os.path.join(ROOT, "crds/raydog.io_raydogclusters.yaml")))
        c.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        c.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "scale"}})
        for _ in range(100):
            try:
                rv = c.call("GET", CR)["metadata"]["resourceVersion"]
                break
            except RuntimeError:
                time.sleep(0.1)
        watch = Watch(host, port, rv)
        watch.start()
        cpu0 = cpu_seconds(proc.pid)

        def phase(name, fn):
            t0, c0 = time.perf_counter(), cpu_seconds(proc.pid)
            fn()
            rows.append((f"{name}, s (emulator CPU s)", "%.1f (%.1f)" % (time.perf_counter() - t0,
                                                                      cpu_seconds(proc.pid) - c0)))
            rows.append((f"  then RSS / threads", proc_status(proc.pid)))

        names = [f"c{i:05d}" for i in range(n)]
        phase(f"create {n} RayDogClusters", lambda: in_parallel(list(range(n)), args.threads, host, port, lambda cl, i: cl.call(
            "POST", CR, {"apiVersion": "raydog.io/v1alpha1", "kind": "RayDogCluster",
                         "metadata": {"name": names[i], "namespace": "scale"}, "spec": spec(i)})))

        def list_all():
            got = c.call("GET", CR)
            assert len(got["items"]) == n, len(got["items"])
        phase("list all at once", list_all)

        def list_pages():
            count, cont = 0, ""
            while True:
                got = c.call("GET", f"{CR}?limit=500" + (f"&continue={cont}" if cont else ""))
                count += len(got["items"])
                cont = got["metadata"].get("continue")
                if not cont:
                    break
            assert count == n, count
        phase("list in pages of 500", list_pages)
        phase("add a finalizer to each (merge patch)", lambda: in_parallel(list(range(n)), args.threads, host, port, lambda cl, i: cl.call(
            "PATCH", f"{CR}/{names[i]}", {"metadata": {"finalizers": ["raydog.io/cleanup"]}},
            content_type="application/merge-patch+json")))
        phase("write each status once (merge patch /status)", lambda: in_parallel(list(range(n)), args.threads, host, port, lambda cl, i: cl.call(
            "PATCH", f"{CR}/{names[i]}/status", {"status": status(i)}, content_type="application/merge-patch+json")))
        phase("an Event per cluster", lambda: in_parallel(list(range(n)), args.threads, host, port, lambda cl, i: cl.call(
            "POST", "/api/v1/namespaces/scale/events",
            {"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{names[i]}.1"},
             "involvedObject": {"apiVersion": "raydog.io/v1alpha1", "kind": "RayDogCluster", "name": names[i],
                                "namespace": "scale"},
             "reason": "Ready", "message": "the cluster is ready", "type": "Normal",
             "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z", "count": 1})))
        rows.append(("emulator CPU over the whole run, s", "%.1f" % (cpu_seconds(proc.pid) - cpu0)))
        time.sleep(2)
        t0 = cpu_seconds(proc.pid)
        time.sleep(10)
        rows.append(("CPU of one core, nothing happening (10 s, a watch open), %",
                     "%.1f" % ((cpu_seconds(proc.pid) - t0) * 10)))
        t1 = time.perf_counter()
        c.call("GET", f"{CR}/{names[n // 2]}")
        rows.append(("GET one cluster, ms", "%.2f" % ((time.perf_counter() - t1) * 1000)))
        stats = c.call("GET", "/_emulator/stats")
        rows.append(("writes counted by /_emulator/stats", "%d" % stats["writes"]))
        rows.append(("watch events (ADDED / MODIFIED)", "%d / %d" % (watch.counts.get("ADDED", 0),
                                                                    watch.counts.get("MODIFIED", 0))))
        if watch.counts.get("ADDED", 0) != n or watch.counts.get("MODIFIED", 0) != 2 * n:
            rows.append(("WATCH MISSED EVENTS", json.dumps(watch.counts)))
        rows.append(("at the end: RSS / threads", proc_status(proc.pid)))
    finally:
        proc.terminate()
        proc.wait(30)
    width = max(len(r[0]) for r in rows)
    print(f"kube-emulator, {n} RayDogClusters")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")


if __name__ == "__main__":
    main()
