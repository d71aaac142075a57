"""CRUD, errors and discovery through the Python kubernetes client."""

from __future__ import annotations

import json
import time

import pytest
from kubernetes import client, config, dynamic
from kubernetes.dynamic import exceptions as dyn_exc

from tests.helpers import http

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                    "size": {"type": "integer"}, "color": {"type": "string"}}},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}},
        }],
    },
}


@pytest.fixture
def api(cluster):
    return config.new_client_from_config(str(cluster.kubeconfig))


@pytest.fixture
def dyn(api):
    return dynamic.DynamicClient(api)


@pytest.fixture
def widgets(cluster, dyn):
    dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition").create(
        body=WIDGET_CRD)
    dyn.resources.invalidate_cache()
    return dyn.resources.get(api_version="example.com/v1", kind="Widget")


def body(exc) -> dict:
    return json.loads(exc.body)


def test_configmap_crud_and_status_bodies(dyn):
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    created = cms.create(body={"metadata": {"name": "one"}, "data": {"a": "1"}}, namespace="default")
    assert created.metadata.uid and created.metadata.resourceVersion
    assert created.metadata.creationTimestamp.endswith("Z")
    assert created.metadata.generation is None  # ConfigMaps carry no generation

    with pytest.raises(dyn_exc.ConflictError) as err:
        cms.create(body={"metadata": {"name": "one"}}, namespace="default")
    assert body(err.value) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": 'configmaps "one" already exists', "reason": "AlreadyExists",
                               "details": {"name": "one", "kind": "configmaps"}, "code": 409}

    with pytest.raises(dyn_exc.NotFoundError) as err:
        cms.get(name="nope", namespace="default")
    assert body(err.value)["message"] == 'configmaps "nope" not found'

    deleted = cms.delete(name="one", namespace="default")
    assert deleted.kind == "Status" and deleted.status == "Success"
    assert deleted.details.kind == "configmaps" and deleted.details.uid == created.metadata.uid
    assert deleted.code is None
    with pytest.raises(dyn_exc.NotFoundError):
        cms.delete(name="one", namespace="default")


def test_missing_namespace_is_404(dyn):
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    with pytest.raises(dyn_exc.NotFoundError) as err:
        cms.create(body={"metadata": {"name": "x"}}, namespace="ghost")
    assert body(err.value)["message"] == 'namespaces "ghost" not found'


def test_group_resource_in_messages(dyn):
    deps = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    with pytest.raises(dyn_exc.NotFoundError) as err:
        deps.get(name="nope", namespace="default")
    assert body(err.value)["message"] == 'deployments.apps "nope" not found'
    assert body(err.value)["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}


def test_update_conflict_and_noop_patch(dyn):
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    obj = cms.create(body={"metadata": {"name": "c"}, "data": {"a": "1"}}, namespace="default").to_dict()
    stale = dict(obj, data={"a": "2"})
    cms.replace(body=stale, namespace="default")
    with pytest.raises(dyn_exc.ConflictError) as err:
        cms.replace(body=dict(obj, data={"a": "3"}), namespace="default")
    assert body(err.value)["message"] == (
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your '
        'changes to the latest version and try again')
    # built-ins accept PUT without resourceVersion
    meta = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    cms.replace(body={"metadata": meta, "data": {"a": "4"}}, namespace="default")
    before = cms.get(name="c", namespace="default").to_dict()
    after = cms.patch(name="c", namespace="default", body={"data": {"a": "4"}},
                      content_type="application/merge-patch+json").to_dict()
    assert after == before  # no-op: same resourceVersion and managedFields


def test_list_envelope_and_selectors(dyn, cluster):
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    for name, labels in (("a", {"app": "x", "tier": "web"}), ("b", {"app": "y"}), ("c", {})):
        cms.create(body={"metadata": {"name": name, "labels": labels}}, namespace="default")

    def names(selector=None, fields=None):
        res = cms.get(namespace="default", label_selector=selector, field_selector=fields)
        return sorted(i.metadata.name for i in res.items if i.metadata.name in "abc")

    assert names("app=x") == ["a"]
    assert names("app==y") == ["b"]
    assert names("app!=x") == ["b", "c"]
    assert names("app in (x,y)") == ["a", "b"]
    assert names("app notin (x)") == ["b", "c"]
    assert names("tier") == ["a"]
    assert names("!app") == ["c"]
    assert names(fields="metadata.name=b") == ["b"]
    raw = http(cluster, "GET", "/api/v1/namespaces/default/configmaps")[2]
    assert raw["kind"] == "ConfigMapList" and raw["apiVersion"] == "v1"
    assert raw["metadata"]["resourceVersion"]
    assert all("kind" not in i and "apiVersion" not in i for i in raw["items"])


def test_list_paging(dyn):
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    for i in range(5):
        cms.create(body={"metadata": {"name": f"p{i}", "labels": {"page": "yes"}}}, namespace="default")
    first = cms.get(namespace="default", label_selector="page", limit=2)
    assert len(first.items) == 2 and first.metadata["continue"]
    assert first.metadata.remainingItemCount is None  # not counted for a list with a selector
    unselected = cms.get(namespace="default", limit=2)
    assert unselected.metadata.remainingItemCount == len(cms.get(namespace="default").items) - 2
    seen = [i.metadata.name for i in first.items]
    token = first.metadata["continue"]
    while token:
        page = cms.get(namespace="default", label_selector="page", limit=2, _continue=token)
        seen += [i.metadata.name for i in page.items]
        token = page.metadata["continue"]
    assert seen == [f"p{i}" for i in range(5)]


def test_typed_client(api):
    core = client.CoreV1Api(api)
    ns = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="typed")))
    assert ns.status.phase == "Active"
    assert ns.spec.finalizers == ["kubernetes"]
    assert ns.metadata.labels["kubernetes.io/metadata.name"] == "typed"
    secret = core.create_namespaced_secret("typed", client.V1Secret(
        metadata=client.V1ObjectMeta(name="s"), string_data={"password": "hunter2"}))
    assert secret.type == "Opaque"
    assert secret.data == {"password": "aHVudGVyMg=="}
    assert secret.string_data is None
    apps = client.AppsV1Api(api)
    dep = apps.create_namespaced_deployment("typed", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}})
    assert dep.spec.replicas == 1 and dep.metadata.generation == 1
    assert dep.spec.strategy.type == "RollingUpdate"
    sts = apps.create_namespaced_stateful_set("typed", {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
        "spec": {"serviceName": "s", "selector": {"matchLabels": {"a": "s"}}, "template": {
            "metadata": {"labels": {"a": "s"}}, "spec": {"containers": [{"name": "c", "image": "pg:1"}]}}}})
    assert sts.spec.update_strategy.type == "RollingUpdate" and sts.spec.replicas == 1


def test_generation_rules(dyn):
    deps = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    spec = {"selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}
    deps.create(body={"metadata": {"name": "g"}, "spec": spec}, namespace="default")

    def patch(body):
        return deps.patch(name="g", namespace="default", body=body,
                          content_type="application/merge-patch+json").metadata.generation

    assert patch({"metadata": {"labels": {"x": "y"}}}) == 1
    assert patch({"metadata": {"annotations": {"x": "y"}}}) == 2
    assert patch({"spec": {"replicas": 3}}) == 3
    assert patch({"metadata": {"generation": 42}}) == 3


def test_discovery_documents(cluster):
    def get(path):
        return http(cluster, "GET", path)[2]

    version = get("/version")
    assert (version["major"], version["minor"]) == tuple(cluster.kubernetes_version.split(".")[:2])
    assert get("/api")["kind"] == "APIVersions" and "apiVersion" not in get("/api")
    core = get("/api/v1")
    assert "apiVersion" not in core and core["groupVersion"] == "v1"
    names = {r["name"] for r in core["resources"]}
    assert {"namespaces", "namespaces/status", "namespaces/finalize", "configmaps", "secrets"} <= names
    groups = get("/apis")
    assert groups["apiVersion"] == "v1" and groups["kind"] == "APIGroupList"
    apps = next(g for g in groups["groups"] if g["name"] == "apps")
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    apps_v1 = get("/apis/apps/v1")
    assert apps_v1["apiVersion"] == "v1"
    dep = next(r for r in apps_v1["resources"] if r["name"] == "deployments")
    assert dep["kind"] == "Deployment" and dep["namespaced"] and "deploy" in dep["shortNames"]
    status = next(r for r in apps_v1["resources"] if r["name"] == "deployments/status")
    assert status["verbs"] == ["get", "patch", "update"]


@pytest.mark.python_server  # the real server reports the version it was built as
@pytest.mark.parametrize("ocp,minor", [("4.12.3", "25"), ("4.14.1", "27"), ("4.15.0", "28")])
def test_version_follows_openshift(cluster_factory, ocp, minor):
    c = cluster_factory(openshift_version=ocp)
    doc = http(c, "GET", "/version")[2]
    assert doc["minor"] == minor


def test_unknown_path_is_plain_404(cluster):
    status, headers, text = http(cluster, "GET", "/apis/nothing.example.com/v1/things")
    assert (status, text) == (404, "404 page not found\n")
    assert headers["Content-Type"].startswith("text/plain")


def test_crd_registers_kind_and_cr_rules(dyn, widgets, cluster):
    crd = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition").get(
        name="widgets.example.com")
    conds = {c.type: (c.status, c.reason) for c in crd.status.conditions}
    assert conds == {"NamesAccepted": ("True", "NoConflicts"), "Established": ("True", "InitialNamesAccepted")}
    w = widgets.create(body={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                             "spec": {"size": 1}, "status": {"ignored": True}}, namespace="default")
    assert w.metadata.generation == 1 and w.status is None  # status subresource: create drops status
    # PUT without resourceVersion is invalid for custom resources
    with pytest.raises(dyn_exc.UnprocessibleEntityError) as err:
        widgets.replace(body={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                              "spec": {"size": 2}}, namespace="default")
    assert body(err.value)["message"] == (
        'widgets.example.com "w" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified '
        'for an update')
    # strategic merge patch is refused on custom resources
    with pytest.raises(client.ApiException) as err:
        widgets.patch(name="w", namespace="default", body={"spec": {"size": 3}},
                      content_type="application/strategic-merge-patch+json")
    assert err.value.status == 415
    assert body(err.value)["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
    # spec change bumps generation, metadata change does not
    w = widgets.patch(name="w", namespace="default", body={"spec": {"size": 3}},
                      content_type="application/merge-patch+json")
    assert w.metadata.generation == 2
    w = widgets.patch(name="w", namespace="default", body={"metadata": {"labels": {"a": "b"}}},
                      content_type="application/merge-patch+json")
    assert w.metadata.generation == 2
    # status goes through /status only
    w = widgets.patch(name="w", namespace="default", body={"status": {"phase": "x"}},
                      content_type="application/merge-patch+json")
    assert w.status is None
    w = widgets.status.patch(name="w", namespace="default",
                             body={"status": {"phase": "ok"}, "spec": {"size": 99}},
                             content_type="application/merge-patch+json")
    assert w.status.phase == "ok" and w.spec.size == 3 and w.metadata.generation == 2
    listed = http(cluster, "GET", "/apis/example.com/v1/namespaces/default/widgets")[2]
    assert listed["kind"] == "WidgetList" and listed["items"][0]["kind"] == "Widget"


def test_deleting_crd_removes_instances(dyn, widgets):
    widgets.create(body={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
                   namespace="default")
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.delete(name="widgets.example.com")
    deadline = time.monotonic() + 30  # the real server first removes the instances, then the definition
    while time.monotonic() < deadline:
        try:
            crds.get(name="widgets.example.com")
        except dyn_exc.NotFoundError:
            break
        time.sleep(0.05)
    with pytest.raises(dyn_exc.NotFoundError):
        crds.get(name="widgets.example.com")
    dyn.resources.invalidate_cache()
    with pytest.raises(dyn_exc.ResourceNotFoundError):
        dyn.resources.get(api_version="example.com/v1", kind="Widget")
