#!/usr/bin/python3
"""Raw HTTP checks against a plain-HTTP kube-emulator (the RayDogCluster CRD already applied).

  http_check.py URL bad-input   malformed bodies, unknown kinds, oversize bodies, invalid names: each gets
                                the real server's Status; the emulator keeps serving.
  http_check.py URL scale N     creates N small RayDogClusters, lists them, watches from resourceVersion 0;
                                prints one JSON line of timings.
"""
import http.client
import json
import sys
import time
from urllib.parse import urlparse

RDC = "/apis/raydog.io/v1alpha1/namespaces/default/raydogclusters"


class Conn:
    def __init__(self, url):
        u = urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.c = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def call(self, method, path, body=None, ctype="application/json"):
        headers = {"Content-Type": ctype, "Accept": "application/json"}
        data = body.encode() if isinstance(body, str) else body
        try:
            self.c.request(method, path, body=data, headers=headers)
            r = self.c.getresponse()
            raw = r.read()
        except (ConnectionError, http.client.HTTPException):
            # The server closes the connection after a body it refused to read; reconnect.
            self.c = http.client.HTTPConnection(self.host, self.port, timeout=120)
            raise
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = raw.decode(errors="replace")
        return r.status, r.getheader("Content-Type"), payload


def rdc(name):
    return json.dumps({"apiVersion": "raydog.io/v1alpha1", "kind": "RayDogCluster", "metadata": {"name": name},
                       "spec": {"yellowdog": {"namespace": "ray"}}})


def expect_status(result, code, reason, message_part=""):
    status, ctype, body = result
    assert status == code, (status, body)
    assert isinstance(body, dict) and body.get("kind") == "Status", body
    assert body.get("code") == code and body.get("reason") == reason, body
    assert message_part in body.get("message", ""), body
    assert ctype.startswith("application/json"), ctype


def bad_input(url):
    c = Conn(url)
    expect_status(c.call("POST", RDC, '{"apiVersion": "raydog.io/v1alpha1", "kind": '), 400, "BadRequest",
                  "couldn't get version/kind; json parse error")
    expect_status(c.call("POST", RDC, "kind: [unclosed\n", "application/yaml"), 400, "BadRequest")
    expect_status(c.call("POST", RDC, "[1, 2, 3]"), 400, "BadRequest")
    expect_status(c.call("POST", RDC, ""), 400, "BadRequest")
    expect_status(c.call("POST", "/apis/raydog.io/v1alpha1/namespaces/default/nosuchthings", rdc("x")), 404,
                  "NotFound", "the server could not find the requested resource")
    expect_status(c.call("GET", "/apis/nosuch.io/v1/widgets"), 404, "NotFound")
    expect_status(c.call("POST", RDC, json.dumps({"apiVersion": "raydog.io/v1alpha1", "kind": "Widget",
                                                   "metadata": {"name": "w"}})), 400, "BadRequest")
    expect_status(c.call("POST", RDC, rdc("Invalid_Name!")), 422, "Invalid",
                  'RayDogCluster.raydog.io "Invalid_Name!" is invalid: metadata.name: Invalid value: "Invalid_Name!"')
    expect_status(c.call("POST", RDC, rdc("a" * 300)), 422, "Invalid", "must be no more than 253 characters")
    big = '{"metadata":{"name":"big"},"spec":{"yellowdog":{"namespace":"' + "x" * (4 * 1024 * 1024) + '"}}}'
    expect_status(c.call("POST", RDC, big), 413, "RequestEntityTooLarge")
    expect_status(c.call("PATCH", RDC + "/nothere", "{}", "application/merge-patch+json"), 404, "NotFound",
                  'raydogclusters.raydog.io "nothere" not found')
    expect_status(c.call("PATCH", RDC + "/nothere", "{}", "text/plain"), 415, "UnsupportedMediaType")
    expect_status(c.call("GET", RDC + "?labelSelector=a%3D%28"), 400, "BadRequest")
    expect_status(c.call("GET", RDC + "?fieldSelector=spec.replicas%3D1"), 400, "BadRequest",
                  "field label not supported: spec.replicas")
    expect_status(c.call("POST", "/api/v1/namespaces/default/configmaps", b"\x6b\x38\x73\x00",
                         "application/vnd.kubernetes.protobuf"), 415, "UnsupportedMediaType")
    expect_status(c.call("DELETE", RDC + "/nothere"), 404, "NotFound")
    # Far too large for the HTTP layer: refused before it is read, then the server keeps serving.
    try:
        huge = c.call("POST", RDC, "{" + " " * (20 * 1024 * 1024) + "}")
        assert huge[0] == 413, huge[:2]
    except (ConnectionError, http.client.HTTPException):
        pass
    c = Conn(url)
    assert c.call("GET", "/healthz")[0] == 200
    status, _, body = c.call("POST", RDC, rdc("still-serving"))
    assert status == 201, (status, body)
    print("OK")


def scale(url, n):
    c = Conn(url)
    t0 = time.monotonic()
    for i in range(n):
        status, _, body = c.call("POST", RDC, rdc(f"rdc-{i:05d}"))
        if status != 201:
            raise AssertionError((i, status, body))
    t_create = time.monotonic() - t0
    t0 = time.monotonic()
    status, _, body = c.call("GET", RDC)
    t_list = time.monotonic() - t0
    assert status == 200 and len(body["items"]) == n, (status, len(body.get("items", [])))
    t0 = time.monotonic()
    w = http.client.HTTPConnection(c.host, c.port, timeout=120)
    w.request("GET", RDC + "?watch=true&resourceVersion=0&timeoutSeconds=60")
    r = w.getresponse()
    assert r.status == 200, r.status
    added = 0
    while added < n:
        line = r.readline()  # de-chunked by http.client
        if not line:
            break
        if not line.strip():
            continue
        ev = json.loads(line)
        if ev.get("type") == "ADDED":
            added += 1
    t_watch = time.monotonic() - t0
    w.close()
    assert added == n, added
    print(json.dumps({"objects": n, "create_s": round(t_create, 3), "create_per_s": round(n / t_create, 1),
                      "list_s": round(t_list, 3), "watch_from_0_s": round(t_watch, 3)}))


if __name__ == "__main__":
    if sys.argv[2] == "bad-input":
        bad_input(sys.argv[1])
    else:
        scale(sys.argv[1], int(sys.argv[3]))
