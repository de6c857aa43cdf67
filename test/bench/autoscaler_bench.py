#!/usr/bin/python3
"""autoscaler-bench: how fast autoscaled clusters follow Ray's demand, and what they cost (issue 20).

Starts yellowdog-sim --ray (zero delays), kube-emulator and raydog-operator as raydog_bench does, creates N
RayDogClusters with autoscaling on (one pool of {CPU: 8} nodes, nodes 0, maxNodes 10, pollInterval 5s,
idleTimeout 10m so nothing scales down while measured), waits until every cluster is Ready, measures the GCS
calls per autoscaled cluster per minute over a quiet window, then injects pending demand (3 x {CPU: 8}) on
every head at once and measures, per cluster, the time from its injection to its last needed worker task
requested (the task's startedTime: with zero delays within a scheduler tick of the request, as raydog_bench
bounds head tasks). Reports p50/p99/max against the goal (pollInterval + 1 s at p99), duplicates (tasks beyond
the 3 needed), and the operator's RSS. Standard library only.

Exit code: 0 when measured (goals missed or not), 1 when the harness itself failed.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from raydog_bench import (HarnessError, ReadyWatch, Sampler, create_clusters, log, metric_sum,  # noqa: E402
                          parse_ts, render_table, run_each, scrape_metrics, start_stack)

NEEDED = 3  # 3 x {CPU: 8} on {CPU: 8} nodes


def spec(sim_url, poll_s):
    return {
        "yellowdog": {"apiURL": sim_url, "namespace": "bench", "credentialsSecretRef": {"name": "yellowdog-credentials"}},
        "head": {"computeRequirementTemplate": "bench/head"},
        "autoscaling": {"enabled": True, "pollInterval": f"{poll_s:g}s", "idleTimeout": "10m"},
        "workerPools": [{"name": "cpu", "nodes": 0, "minNodes": 0, "maxNodes": 10,
                         "computeRequirementTemplate": "bench/cpu", "rayResources": {"CPU": "8"}}],
    }


def quantile(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def run(args, n, workdir):
    os.makedirs(workdir, exist_ok=True)
    for stale in ("sim.url", "kubeconfig"):
        if os.path.exists(os.path.join(workdir, stale)):
            os.remove(os.path.join(workdir, stale))
    res = {"n": n, "pollIntervalS": args.poll_interval}
    procs = []
    try:
        st = start_stack(args, workdir, procs)
        kube, simh, op = st.kube, st.simh, st.op
        time.sleep(2)
        res["rssIdleMB"] = op.mem_kb().get("VmRSS", 0) / 1024
        sampler = Sampler(op)
        sampler.start()
        lst = kube.json("GET", st.cr_path)
        watch = ReadyWatch(st.server, st.cr_path, lst["metadata"]["resourceVersion"])
        watch.start()
        names = [f"as-{i:05d}" for i in range(n)]
        body_spec = spec(st.sim_url, args.poll_interval)
        t0 = time.time()
        create_clusters(st.server, st.cr_path, st.ns, names, body_spec, 4)
        while watch.count() < n and time.time() < t0 + args.ready_timeout:
            if not op.alive():
                raise HarnessError(f"raydog-operator died (see {op.log_path})")
            time.sleep(0.2)
        res["readyClusters"] = watch.count()
        if watch.count() < n:
            raise HarnessError(f"only {watch.count()}/{n} clusters Ready after {args.ready_timeout}s")
        res["timeToAllReadyS"] = time.time() - t0
        log(f"N={n}: all Ready after {res['timeToAllReadyS']:.1f}s; GCS window {args.window}s")

        # --- GCS calls per autoscaled cluster per minute, nothing changing
        time.sleep(args.poll_interval)
        m1 = scrape_metrics(st.metrics)
        time.sleep(args.window)
        m2 = scrape_metrics(st.metrics)
        gcs = (metric_sum(m2, "raydog_ray_gcs_calls_total") or 0) - (metric_sum(m1, "raydog_ray_gcs_calls_total") or 0)
        res["gcsCallsPerClusterMin"] = gcs / n / (args.window / 60.0)
        res["rssBeforeDemandMB"] = op.mem_kb().get("VmRSS", 0) / 1024

        # --- demand on every head at once
        heads = {}  # cluster -> (head task id, head private IP)
        for item in kube.json("GET", st.cr_path)["items"]:
            h = (item.get("status") or {}).get("head") or {}
            heads[item["metadata"]["name"]] = (h.get("taskId"), h.get("privateIP"))
        injected = {}
        demand = {"pending": [{"shape": {"CPU": 8}, "count": NEEDED}]}
        for name, (task, _) in heads.items():
            simh.json("POST", f"/_sim/ray/heads/{task}/demand", demand)
            injected[name] = time.time()
        t_inject = min(injected.values())
        by_ip = {ip: name for name, (_, ip) in heads.items()}
        deadline = t_inject + args.demand_timeout
        started = {}
        while time.time() < deadline:
            objs = simh.json("GET", "/_sim/objects")
            started = {}
            for t in objs["tasks"]:
                if not str(t.get("name", "")).startswith("worker-") or not t.get("startedTime"):
                    continue
                name = by_ip.get((t.get("environment") or {}).get("RAY_HEAD_IP"))
                if name:
                    started.setdefault(name, []).append(parse_ts(t["startedTime"]))
            if sum(1 for v in started.values() if len(v) >= NEEDED) == n:
                break
            time.sleep(0.5)
        lat = [max(sorted(v)[:NEEDED]) - injected[name] for name, v in started.items() if len(v) >= NEEDED]
        res["clustersServed"] = len(lat)
        res["demandToRequestedS"] = {"p50": quantile(lat, 0.5), "p99": quantile(lat, 0.99), "max": max(lat or [0])}
        # Settle for two polls: nothing more is launched once the demand is placed.
        time.sleep(2 * args.poll_interval + 1)
        objs = simh.json("GET", "/_sim/objects")
        per = {}
        for t in objs["tasks"]:
            name = by_ip.get((t.get("environment") or {}).get("RAY_HEAD_IP"))
            if name and str(t.get("name", "")).startswith("worker-"):
                per[name] = per.get(name, 0) + 1
        res["extraTasks"] = sum(max(0, c - NEEDED) for c in per.values())
        res["rssAfterDemandMB"] = op.mem_kb().get("VmRSS", 0) / 1024
        sampler.stop_flag = True
        watch.stop_flag = True
        res["rssPeakMB"] = max(sampler.max_rss_kb, op.mem_kb().get("VmHWM", 0)) / 1024
        m3 = scrape_metrics(st.metrics)
        res["scaleUpDecisions"] = metric_sum(m3, "raydog_autoscaler_decisions_total", {"direction": "up"})
        res["ok"] = True
        return res
    finally:
        for p in reversed(procs):
            p.stop()


def fmt(v, nd=2):
    return "n/a" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def table(runs):
    poll = runs[0].get("pollIntervalS", 5.0) if runs else 5.0
    rows = [
        ("clusters Ready / N", lambda r: f"{r.get('readyClusters')}/{r['n']}", ""),
        ("demand -> every needed task requested, p50 / p99 / max (s)",
         lambda r: " / ".join(fmt(r["demandToRequestedS"][k]) for k in ("p50", "p99", "max")),
         f"p99 <= {poll + 1:g} (pollInterval + 1 s)"),
        ("clusters whose demand was served", lambda r: f"{r.get('clustersServed')}/{r['n']}", "all"),
        ("tasks launched beyond the demand", lambda r: fmt(r.get("extraTasks")), "0"),
        ("GCS calls per autoscaled cluster per minute", lambda r: fmt(r.get("gcsCallsPerClusterMin")),
         f"= {60 / poll:g} (60 s / pollInterval)"),
        ("operator RSS idle / before demand / peak (MB)",
         lambda r: f"{fmt(r.get('rssIdleMB'), 1)} / {fmt(r.get('rssBeforeDemandMB'), 1)} / {fmt(r.get('rssPeakMB'), 1)}",
         ""),
    ]
    return render_table("autoscaling", rows, runs)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    source_dir = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin-dir", default=os.path.join(source_dir, "build", "bench", "bin"))
    ap.add_argument("--source-dir", default=source_dir)
    ap.add_argument("--n", default="100", help="comma-separated cluster counts (default 100)")
    ap.add_argument("--window", type=float, default=20.0, help="seconds of the GCS call window (default 20)")
    ap.add_argument("--poll-interval", type=float, default=5.0, help="spec.autoscaling.pollInterval in s (default 5)")
    ap.add_argument("--ready-timeout", type=float, default=240.0)
    ap.add_argument("--demand-timeout", type=float, default=60.0)
    ap.add_argument("--operator-flag", action="append", default=[])
    ap.add_argument("--sim-flag", action="append", default=[])
    ap.add_argument("--out", default=os.path.join(source_dir, "build", "bench", "autoscaler-results.json"))
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    args.ray = True
    workdir = args.workdir or os.path.join(os.path.dirname(os.path.abspath(args.out)), "autoscaler-runs")
    counts = [int(x) for x in args.n.split(",") if x.strip()]
    runs, failed = run_each(counts, lambda n: run(args, n, os.path.join(workdir, f"n{n}")), "autoscaling run")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": runs}, f, indent=2,
                  sort_keys=True)
    print(table(runs))
    print(f"\nresults: {args.out}; harness {'FAILED' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
