"""Stand-in DALiuGE Node Manager REST API for the node-script e2e tests: GET /api -> 200 {"sessions": []},
anything else 404, on 127.0.0.1:PORT only. Every request and the moment it listens go to the stand-in log."""
import http.server
import json
import sys

port, task, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def log(line):
    with open(log_path, "a") as f:
        f.write(f"{task}|{line}\n")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log(f"nm-request|GET {self.path}")
        if self.path == "/api":
            body = json.dumps({"sessions": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def do_POST(self):
        log(f"nm-request|POST {self.path}")
        self.send_error(404)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", port), Handler)
log("nm-serving")
server.serve_forever()
