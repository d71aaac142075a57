"""remove_objects against the local test cluster: ownership, finalizers, stuck objects, check mode, no-op."""

from __future__ import annotations

from tests.helpers import run_module

OURS = {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator",
        "app.kubernetes.io/component": "rhdh"}
CONFIGMAPS = {"api_version": "v1", "kind": "ConfigMap", "namespace": "default",
              "label_selector": "app.kubernetes.io/component=rhdh", "component": "Developer Hub"}


def configmap(name, labels, finalizers=()):
    meta = {"name": name, "namespace": "default", "labels": dict(labels)}
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "b"}}


def remove(cluster, tmp_path, resources, check=False, **options):
    return run_module(cluster, tmp_path, "remove_objects", {"resources": resources, "sleep": 0.2, **options},
                      check=check)[1]


def names(cluster):
    return sorted(cm["metadata"]["name"] for cm in cluster.store.list("v1", "ConfigMap", "default")
                  if cm["metadata"]["name"] != "kube-root-ca.crt")


def test_removes_ours_keeps_theirs_and_reports_a_stuck_one(cluster, tmp_path):
    store = cluster.store
    store.create(configmap("ours", OURS), manager="test")
    store.create(configmap("held", OURS, finalizers=["example.com/hold"]), manager="test")
    store.create(configmap("theirs", {"app.kubernetes.io/component": "rhdh"}), manager="test")
    store.create(configmap("other-component", {**OURS, "app.kubernetes.io/component": "postgresql"}), manager="test")
    named_theirs = {"api_version": "v1", "kind": "ConfigMap", "namespace": "default", "name": "theirs"}

    result = remove(cluster, tmp_path, [CONFIGMAPS, named_theirs], check=True)
    assert result["changed"] is True and result["removed"] == ["ConfigMap default/held", "ConfigMap default/ours"]
    assert result["kept"] == ["ConfigMap default/theirs"]
    assert names(cluster) == ["held", "other-component", "ours", "theirs"]  # check mode removed nothing

    result = remove(cluster, tmp_path, [CONFIGMAPS, named_theirs], timeout=2)
    assert result["failed"] is True
    assert result["msg"].splitlines() == [
        "Timed out after 2s: 1 of 2 object(s) not removed:",
        "- Developer Hub: ConfigMap default/held is still there (deleted at %s, finalizers: example.com/hold)"
        % store.get("v1", "ConfigMap", "held", "default")["metadata"]["deletionTimestamp"]]
    assert names(cluster) == ["held", "other-component", "theirs"]

    store.patch("v1", "ConfigMap", "held", "default", {"metadata": {"finalizers": None}}, patch_type="merge",
                manager="test")
    assert remove(cluster, tmp_path, [CONFIGMAPS])["changed"] is False
    assert names(cluster) == ["other-component", "theirs"]


def test_waits_for_a_namespace_to_terminate_and_is_a_no_op_afterwards(cluster, tmp_path):
    store = cluster.store
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ours", "labels": OURS}},
                 manager="test")
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "theirs"}}, manager="test")
    store.create({**configmap("inside", {}), "metadata": {"name": "inside", "namespace": "ours"}}, manager="test")
    namespaces = {"api_version": "v1", "kind": "Namespace", "label_selector": "app.kubernetes.io/component=rhdh"}
    result = remove(cluster, tmp_path, [namespaces, {"api_version": "v1", "kind": "Namespace", "name": "theirs"}])
    assert result.get("failed") is not True, result
    assert result["removed"] == ["Namespace ours"] and result["kept"] == ["Namespace theirs"]
    assert store.try_get("v1", "Namespace", "ours") is None and store.try_get("v1", "Namespace", "theirs")
    assert remove(cluster, tmp_path, [namespaces, {"api_version": "sonataflow.org/v1alpha08",
                                                   "kind": "SonataFlow"}])["changed"] is False
