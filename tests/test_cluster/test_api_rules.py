"""Server rules: finalizers, namespaces, garbage collection, dryRun, field validation, apply."""

from __future__ import annotations

import time

import pytest

from tests.cluster.errors import ApiError
from tests.helpers import http

CM = "/api/v1/namespaces/{ns}/configmaps"


def cm(name, ns="default", **meta):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns, **meta},
            "data": {"k": "v"}}


def wait_for(cluster, predicate, timeout=30.0):
    """Run controller passes until predicate() holds; on the real control plane, also give its controller
    manager the time it takes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        cluster.run_controllers()
        if cluster.controlplane is not None:
            time.sleep(0.05)
    return True


@pytest.fixture
def quiet(cluster_factory):
    """A cluster whose controllers run only when the test asks (namespace and GC included)."""
    c = cluster_factory(controller_interval=3600)
    return c


def test_finalizer_keeps_object_until_removed(cluster):
    store = cluster.store
    store.create(cm("f", finalizers=["example.com/hold"]), manager="t")
    status, _headers, obj = http(cluster, "DELETE", CM.format(ns="default") + "/f")
    assert status == 200
    assert obj["kind"] == "ConfigMap" and obj["metadata"]["deletionTimestamp"]
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 0
    # no new finalizers once deleting
    status, _headers, err = http(cluster, "PATCH", CM.format(ns="default") + "/f",
                                 {"metadata": {"finalizers": ["example.com/hold", "another/one"]}},
                                 content_type="application/merge-patch+json")
    assert status == 422 and "no new finalizers can be added if the object is being deleted" in err["message"]
    # a second DELETE returns the object unchanged
    assert http(cluster, "DELETE", CM.format(ns="default") + "/f")[2] == obj
    status, _headers, _body = http(cluster, "PATCH", CM.format(ns="default") + "/f", {"metadata": {"finalizers": None}},
                                   content_type="application/merge-patch+json")
    assert status == 200
    assert store.try_get("v1", "ConfigMap", "f", "default") is None


def test_delete_returns_object_for_pods_and_namespaces(cluster):
    status, _headers, ns = http(cluster, "POST", "/api/v1/namespaces", {"metadata": {"name": "gone"}})
    assert status == 201
    status, _headers, sa = http(cluster, "POST", "/api/v1/namespaces/gone/serviceaccounts", {"metadata": {"name": "x"}})
    status, _headers, out = http(cluster, "DELETE", "/api/v1/namespaces/gone/serviceaccounts/x")
    assert status == 200 and out["kind"] == "ServiceAccount" and out["metadata"]["uid"] == sa["metadata"]["uid"]
    status, _headers, out = http(cluster, "DELETE", "/api/v1/namespaces/gone")
    assert status == 200 and out["kind"] == "Namespace" and out["status"]["phase"] == "Terminating"


def test_protected_namespace(cluster):
    status, _headers, err = http(cluster, "DELETE", "/api/v1/namespaces/default")
    assert status == 403
    assert err["message"] == 'namespaces "default" is forbidden: this namespace may not be deleted'


def test_namespace_terminates_after_content(quiet):
    store = quiet.store
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}}, manager="t")
    store.create(cm("plain", "t"), manager="t")
    store.create(cm("held", "t", finalizers=["example.com/hold"]), manager="t")
    store.delete("v1", "Namespace", "t")
    with pytest.raises(ApiError) as err:
        store.create(cm("late", "t"), manager="t")
    assert err.value.code == 403
    assert err.value.message == ('configmaps "late" is forbidden: unable to create new content in namespace t '
                                 'because it is being terminated')
    assert err.value.details["causes"][0]["reason"] == "NamespaceTerminating"

    def content_left():
        conds = (store.get("v1", "Namespace", "t").get("status") or {}).get("conditions") or []
        return store.try_get("v1", "ConfigMap", "plain", "t") is None and any(
            c["type"] == "NamespaceFinalizersRemaining" and c["status"] == "True" for c in conds)

    assert wait_for(quiet, content_left)
    ns = store.get("v1", "Namespace", "t")
    conds = {c["type"]: c for c in ns["status"]["conditions"]}
    assert conds["NamespaceContentRemaining"]["status"] == "True"
    assert conds["NamespaceContentRemaining"]["reason"] == "SomeResourcesRemain"
    assert "configmaps. has 1 resource instances" in conds["NamespaceContentRemaining"]["message"]
    assert conds["NamespaceFinalizersRemaining"]["reason"] == "SomeFinalizersRemain"
    assert conds["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
    store.remove_finalizer("v1", "ConfigMap", "held", "t", "example.com/hold", manager="t")
    assert wait_for(quiet, lambda: store.try_get("v1", "Namespace", "t") is None)


def test_garbage_collection_background_and_foreground(quiet):
    store = quiet.store
    owner = store.create(cm("owner"), manager="t")
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"],
           "blockOwnerDeletion": True}
    store.create(cm("child", ownerReferences=[ref]), manager="t")
    store.delete("v1", "ConfigMap", "owner", "default")
    assert wait_for(quiet, lambda: store.try_get("v1", "ConfigMap", "child", "default") is None)

    owner = store.create(cm("fg"), manager="t")
    ref = dict(ref, name="fg", uid=owner["metadata"]["uid"])
    store.create(cm("fg-child", ownerReferences=[ref]), manager="t")
    out = store.delete("v1", "ConfigMap", "fg", "default", propagation="Foreground")
    assert out["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert wait_for(quiet, lambda: store.try_get("v1", "ConfigMap", "fg", "default") is None)
    assert store.try_get("v1", "ConfigMap", "fg-child", "default") is None


def test_orphan_keeps_dependents(quiet):
    store = quiet.store
    owner = store.create(cm("o"), manager="t")
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": owner["metadata"]["uid"]}
    store.create(cm("kept", ownerReferences=[ref]), manager="t")
    store.delete("v1", "ConfigMap", "o", "default", propagation="Orphan")
    assert wait_for(quiet, lambda: store.try_get("v1", "ConfigMap", "o", "default") is None)
    quiet.run_controllers(2)
    kept = store.get("v1", "ConfigMap", "kept", "default")
    assert not kept["metadata"].get("ownerReferences")


def test_dry_run_persists_nothing(cluster):
    path = CM.format(ns="default")
    status, _headers, out = http(cluster, "POST", path + "?dryRun=All", cm("dry"))
    assert status == 201 and out["metadata"]["uid"] and "resourceVersion" not in out["metadata"]
    assert cluster.store.try_get("v1", "ConfigMap", "dry", "default") is None
    cluster.store.create(cm("real"), manager="t")
    status, _headers, out = http(cluster, "PATCH", path + "/real?dryRun=All", {"data": {"k": "changed"}},
                                 content_type="application/merge-patch+json")
    assert status == 200 and out["data"] == {"k": "changed"}
    assert cluster.store.get("v1", "ConfigMap", "real", "default")["data"] == {"k": "v"}
    status, _headers, _body = http(cluster, "DELETE", path + "/real?dryRun=All")
    assert status == 200 and cluster.store.try_get("v1", "ConfigMap", "real", "default")
    status, _headers, err = http(cluster, "POST", path + "?dryRun=Yes", cm("dry"))
    assert status == 422


def test_field_validation_modes(cluster):
    path = CM.format(ns="default")
    body = dict(cm("fv"), bogus=1)
    status, _headers, err = http(cluster, "POST", path + "?fieldValidation=Strict", body)
    assert status == 400, err
    assert err["message"] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding '
                              'error: unknown field "bogus"')
    status, headers, out = http(cluster, "POST", path + "?fieldValidation=Warn", body)
    assert status == 201 and "bogus" not in out
    assert headers.get_all("Warning") == ['299 - "unknown field \\"bogus\\""']
    status, _headers, err = http(cluster, "PATCH", path + "/fv?fieldValidation=Strict", {"other": 2},
                                 content_type="application/merge-patch+json")
    assert status == 422 and err["details"]["causes"][0]["field"] == "patch"
    assert 'strict decoding error: unknown field "other"' in err["message"]
    status, headers, _body = http(cluster, "POST", path + "?fieldValidation=Ignore", dict(body, metadata={"name": "i"}))
    assert status == 201 and headers.get_all("Warning") is None


def test_server_side_apply(cluster):
    path = CM.format(ns="default") + "/ssa"
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1"}}
    status, _headers, err = http(cluster, "PATCH", path, applied, content_type="application/apply-patch+yaml")
    assert status == 422
    assert err["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
                              'for apply patch')
    status, _headers, out = http(cluster, "PATCH", path + "?fieldManager=me", applied,
                                 content_type="application/apply-patch+yaml")
    assert status == 201 and out["data"] == {"a": "1"}
    assert out["metadata"]["managedFields"][0]["manager"] == "me"
    assert out["metadata"]["managedFields"][0]["operation"] == "Apply"
    status, _headers, again = http(cluster, "PATCH", path + "?fieldManager=me", applied,
                                   content_type="application/apply-patch+yaml")
    assert status == 200 and again == out
    status, _headers, err = http(cluster, "PATCH", path + "?fieldManager=me&force=true", {"data": {"a": "2"}},
                                 content_type="application/merge-patch+json")
    assert status == 422 and err["message"].endswith("force: Forbidden: may not be specified for non-apply patch")


def test_status_subresource_of_deployment(quiet):
    store = quiet.store  # no workloads controller writing the status in between
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
           "spec": {"replicas": 0, "selector": {"matchLabels": {"a": "b"}}, "template": {
               "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}},
           "status": {"replicas": 5}}
    created = store.create(dep, manager="t")
    assert created["status"] == {}
    created["status"] = {"observedGeneration": 1}
    created["spec"]["replicas"] = 7
    out = store.update(created, manager="t", subresource="status")
    assert out["status"] == {"observedGeneration": 1} and out["spec"]["replicas"] == 0
    assert out["metadata"]["generation"] == 1


def test_generate_name_and_resource_version_on_create(cluster):
    path = CM.format(ns="default")
    status, _headers, out = http(cluster, "POST", path, {"metadata": {"generateName": "install-"}})
    assert status == 201 and out["metadata"]["name"].startswith("install-")
    assert len(out["metadata"]["name"]) == len("install-") + 5
    status, _headers, err = http(cluster, "POST", path, {"metadata": {"name": "rv", "resourceVersion": "5"}})
    assert status == 500 and err["message"] == "resourceVersion should not be set on objects to be created"
    status, _headers, err = http(cluster, "POST", path, {"metadata": {"name": "x", "namespace": "other"}})
    assert status == 400 and "does not match the namespace" in err["message"]


def test_real_crd_from_shared_folder(cluster):
    """A real upstream CRD registers and validates its instances (when the folder is present)."""
    crds_dir = cluster.config.crds_dir
    if not crds_dir or not (crds_dir / "operator.knative.dev_knativeservings.yaml").is_file():
        pytest.skip("upstream CRDs not available (set ORCHESTRATOR_TEST_CRDS)")
    import yaml
    crd = yaml.safe_load((crds_dir / "operator.knative.dev_knativeservings.yaml").read_text())
    if cluster.store.try_get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd["metadata"]["name"]):
        cluster.store.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd["metadata"]["name"])
    cluster.store.create(crd, manager="t")
    cluster.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "knative-serving"}},
                         manager="t")
    status, _headers, out = http(cluster, "POST", "/apis/operator.knative.dev/v1beta1/namespaces/knative-serving/"
                                 "knativeservings", {"apiVersion": "operator.knative.dev/v1beta1", "kind": "KnativeServing",
                                                     "metadata": {"name": "knative-serving"}, "spec": {}})
    assert status == 201, out
    assert out["kind"] == "KnativeServing" and out["metadata"]["generation"] == 1
    status, _headers, doc = http(cluster, "GET", "/apis/operator.knative.dev/v1beta1")
    names = {r["name"] for r in doc["resources"]}
    assert {"knativeservings", "knativeservings/status"} <= names
