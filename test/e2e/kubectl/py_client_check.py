#!/usr/bin/python3
"""Debian's python3-kubernetes against kube-emulator: list, watch, patch status, 409 on a stale update.

Usage: py_client_check.py KUBECONFIG   (the RayDogCluster CRD must already be Established)
Prints OK on success; any failed expectation raises and exits non-zero.
"""
import sys

from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

G, V, P, NS = "raydog.io", "v1alpha1", "raydogclusters", "default"


def rdc(name, replicas=1):
    return {"apiVersion": f"{G}/{V}", "kind": "RayDogCluster", "metadata": {"name": name, "labels": {"app": "py"}},
            "spec": {"replicas": replicas, "yellowdog": {"namespace": "ray"}}}


def main():
    api_client = config.new_client_from_config(config_file=sys.argv[1])
    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)

    names = [n.metadata.name for n in core.list_namespace().items]
    assert "default" in names and "kube-system" in names, names

    for name in ("a", "b"):
        custom.create_namespaced_custom_object(G, V, NS, P, rdc(name))
    listed = custom.list_namespaced_custom_object(G, V, NS, P, label_selector="app=py")
    assert sorted(i["metadata"]["name"] for i in listed["items"]) == ["a", "b"], listed
    list_rv = listed["metadata"]["resourceVersion"]

    # Status through the subresource: spec changes in the same body are ignored.
    patched = custom.patch_namespaced_custom_object_status(
        G, V, NS, P, "a", {"status": {"phase": "Running", "observedGeneration": 1}, "spec": {"replicas": 9}})
    assert patched["status"]["phase"] == "Running", patched
    assert patched["spec"]["replicas"] == 1, patched

    # 409 on a stale update.
    fresh = custom.get_namespaced_custom_object(G, V, NS, P, "b")
    stale = dict(fresh)
    fresh["spec"]["replicas"] = 2
    custom.replace_namespaced_custom_object(G, V, NS, P, "b", fresh)
    stale["spec"] = dict(stale["spec"], replicas=3)
    try:
        custom.replace_namespaced_custom_object(G, V, NS, P, "b", stale)
        raise AssertionError("stale update was accepted")
    except ApiException as e:
        assert e.status == 409, e
        assert "the object has been modified" in e.body, e.body

    # Watch from the list's resourceVersion: the changes since then arrive in order, then a delete.
    custom.delete_namespaced_custom_object(G, V, NS, P, "b")
    seen = []
    w = watch.Watch()
    for ev in w.stream(custom.list_namespaced_custom_object, G, V, NS, P, resource_version=list_rv, timeout_seconds=20):
        seen.append((ev["type"], ev["object"]["metadata"]["name"]))
        if ev["type"] == "DELETED":
            w.stop()
    assert seen == [("MODIFIED", "a"), ("MODIFIED", "b"), ("DELETED", "b")], seen

    # Typed core watch with a field selector.
    core.create_namespaced_config_map(NS, {"metadata": {"name": "py-cm"}, "data": {"k": "v"}})
    cms = []
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, NS, field_selector="metadata.name=py-cm", timeout_seconds=20):
        cms.append((ev["type"], ev["object"].metadata.name, ev["object"].data))
        w.stop()
    assert cms == [("ADDED", "py-cm", {"k": "v"})], cms

    # The dynamic client uses legacy discovery (/api, /apis, /apis/G/V).
    dyn = dynamic.DynamicClient(api_client)
    res = dyn.resources.get(api_version=f"{G}/{V}", kind="RayDogCluster")
    got = res.get(namespace=NS, name="a")
    assert got.status.phase == "Running", got
    print("OK")


if __name__ == "__main__":
    main()
