#!/usr/bin/env python3
"""The parts of a Ray node the observability tests need, for the stand-in `ray` (see its header).

  ray_node.py dashboards --temp-dir D [--head --members DIR]
      Ray's Grafana dashboards (the files a head's dashboard writes at start) under
      D/session_latest/metrics/grafana/dashboards.
  ray_node.py serve --ip IP --port P --temp-dir D [--head --members DIR | --join DIR]
      Serves Prometheus text metrics on IP:P until SIGTERM. A worker (--join) records itself in the head's
      member directory while it runs; a head (--head) rewrites D/prom_metrics_service_discovery.json every
      second, as Ray's dashboard does every 5 s: its own address and every live member's, in Ray's format.
"""
import argparse
import http.server
import json
import os
import signal
import sys
import threading
import time

DASHBOARDS = {
    "default_grafana_dashboard.json": ("rayDefaultDashboard", "Default Dashboard"),
    "data_grafana_dashboard.json": ("rayDataDashboard", "Data Dashboard"),
}


def atomic_write(path, text):
    tmp = os.path.join(os.path.dirname(path), "tmp_" + os.path.basename(path))
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_dashboards(temp_dir):
    out = os.path.join(temp_dir, "session_latest", "metrics", "grafana", "dashboards")
    os.makedirs(out, exist_ok=True)
    for name, (uid, title) in DASHBOARDS.items():
        dashboard = {
            "uid": uid,
            "title": title,
            "templating": {"list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "hide": 2},
                {"name": "SessionName", "type": "query",
                 "datasource": {"type": "prometheus", "uid": "${datasource}"},
                 "query": "label_values(ray_node_cpu_utilization, SessionName)"},
            ]},
            "panels": [{
                "id": 1, "type": "timeseries", "title": "Node CPU",
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "targets": [{"expr": "ray_node_cpu_utilization{SessionName=~\"$SessionName\"}"}],
            }],
        }
        atomic_write(os.path.join(out, name), json.dumps(dashboard, indent=1))


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def discovery_writer(temp_dir, own, members, stop):
    path = os.path.join(temp_dir, "prom_metrics_service_discovery.json")
    while not stop.is_set():
        targets = [own]
        try:
            for entry in sorted(os.listdir(members)):
                try:
                    with open(os.path.join(members, entry)) as f:
                        pid = int(f.read().strip() or 0)
                except (OSError, ValueError):
                    continue
                if pid and alive(pid):
                    targets.append(entry)
        except FileNotFoundError:
            pass
        atomic_write(path, json.dumps([{"labels": {"job": "ray"}, "targets": targets}]))
        stop.wait(1.0)


def serve(args):
    session = "session_standin_" + (os.path.basename(args.members) if args.members else
                                    os.path.basename(args.join or "none"))
    address = f"{args.ip}:{args.port}"

    class Metrics(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            labels = f'SessionName="{session}",NodeAddress="{args.ip}",ip="{args.ip}"'
            body = (
                "# HELP ray_node_cpu_utilization Total CPU usage on a ray node\n"
                "# TYPE ray_node_cpu_utilization gauge\n"
                f"ray_node_cpu_utilization{{{labels}}} {time.time() % 100:.2f}\n"
                "# HELP ray_node_mem_used Memory usage on a ray node\n"
                "# TYPE ray_node_mem_used gauge\n"
                f"ray_node_mem_used{{{labels}}} 1073741824\n"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    try:
        server = http.server.ThreadingHTTPServer((args.ip, args.port), Metrics)
    except OSError as e:
        print(f"ray_node: cannot serve metrics on {address}: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()
    member = None
    if args.join:
        os.makedirs(args.join, exist_ok=True)
        member = os.path.join(args.join, address)
        with open(member, "w") as f:
            f.write(str(os.getppid()))  # the blocking `ray start`: alive as long as this node is
    if args.head:
        os.makedirs(args.temp_dir, exist_ok=True)
        os.makedirs(args.members, exist_ok=True)
        threading.Thread(target=discovery_writer, args=(args.temp_dir, address, args.members, stop),
                         daemon=True).start()

    def leave(*_):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
    os.makedirs(args.temp_dir, exist_ok=True)
    open(os.path.join(args.temp_dir, ".standin-metrics-up"), "w").close()
    server.serve_forever(poll_interval=0.1)
    if member:
        try:
            os.remove(member)
        except FileNotFoundError:
            pass
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["dashboards", "serve"])
    p.add_argument("--ip")
    p.add_argument("--port", type=int)
    p.add_argument("--temp-dir", required=True)
    p.add_argument("--head", action="store_true")
    p.add_argument("--members")
    p.add_argument("--join")
    args = p.parse_args()
    if args.what == "dashboards":
        write_dashboards(args.temp_dir)
        return 0
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
