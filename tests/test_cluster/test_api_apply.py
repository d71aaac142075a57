"""Server-side apply details, decoding errors of built-in kinds and LocalCluster settings."""

from __future__ import annotations

import json

import pytest

from tests.cluster import LocalCluster
from tests.cluster.config import Delays, Faults
from tests.cluster.errors import ApiError
from tests.helpers import http
from tests.test_cluster.test_api_basic import WIDGET_CRD

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


def deployment(name="d", **spec):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": {
                "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}},
                **spec}}


def widget_crd(**spec_schema):
    crd = json.loads(json.dumps(WIDGET_CRD))
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].update(spec_schema)
    return crd


def widget(**spec):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"},
            "spec": spec}


def apply(store, obj, manager, **kw):
    meta = obj["metadata"]
    return store.patch(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"), obj,
                       patch_type="apply", manager=manager, **kw)


def entry(obj, manager, operation="Apply"):
    found = [m for m in obj["metadata"].get("managedFields") or []
             if m["manager"] == manager and m["operation"] == operation]
    assert len(found) == 1, obj["metadata"].get("managedFields")
    return found[0]


@pytest.fixture
def quiet(cluster_factory):
    """Controllers only run when a test asks."""
    return cluster_factory(controller_interval=3600)


def test_apply_to_status_records_the_subresource(quiet):
    store = quiet.store
    store.create(widget_crd(), manager="t")
    apply(store, widget(size=1), "user")
    out = apply(store, dict(widget(), status={"phase": "Ready"}, spec={"size": 9}), "ctl", subresource="status")
    assert out["status"] == {"phase": "Ready"} and out["spec"] == {"size": 1}
    mine = entry(out, "ctl")
    assert mine["subresource"] == "status"
    assert mine["fieldsV1"] == {"f:status": {"f:phase": {}}}  # spec sent to /status is neither applied nor owned
    assert "subresource" not in entry(out, "user")


def test_apply_body_is_not_defaulted_or_required_checked(quiet):
    store = quiet.store
    store.create(widget_crd(required=["size"], properties={
        "size": {"type": "integer"}, "color": {"type": "string", "default": "red"}}), manager="t")
    created = apply(store, widget(size=1), "user")
    assert created["spec"] == {"size": 1, "color": "red"}  # the merged object is defaulted
    assert entry(created, "user")["fieldsV1"]["f:spec"] == {"f:size": {}}  # the applier does not own the default
    store.create(deployment(), manager="t")
    scaled = apply(store, {"apiVersion": "apps/v1", "kind": "Deployment",
                           "metadata": {"name": "d", "namespace": "default"}, "spec": {"replicas": 3}}, "scaler", force=True)
    assert scaled["spec"]["replicas"] == 3 and scaled["spec"]["selector"] == {"matchLabels": {"a": "b"}}


def test_apply_validates_the_merged_object(quiet):
    store = quiet.store
    store.create(widget_crd(required=["size"]), manager="t")
    apply(store, widget(size=1, color="blue"), "user")
    with pytest.raises(ApiError) as exc:  # size is dropped: only "user" owned it, and it is required
        apply(store, widget(color="blue"), "user")
    assert exc.value.code == 422 and exc.value.details["causes"][0]["field"] == "spec.size"
    assert store.get("example.com/v1", "Widget", "w", "default")["spec"] == {"size": 1, "color": "blue"}


def test_apply_to_main_endpoint_drops_status(quiet):
    store = quiet.store
    store.create(widget_crd(), manager="t")
    apply(store, widget(size=1), "ctl")
    apply(store, dict(widget(), status={"phase": "Ready"}), "ctl", subresource="status")
    out = apply(store, dict(widget(size=1), status={"phase": "Mine"}), "user")
    assert out["status"] == {"phase": "Ready"}
    assert "f:status" not in entry(out, "user")["fieldsV1"]
    dep = apply(store, dict(deployment(), status={"replicas": 4}), "user")
    assert "f:status" not in entry(dep, "user")["fieldsV1"]


def test_deletion_is_not_recorded_in_managed_fields(quiet):
    store = quiet.store
    store.create({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"},
                  "metadata": {"name": "f", "namespace": "default", "finalizers": ["example.com/hold"]}},
                 manager="t")
    before = store.get("v1", "ConfigMap", "f", "default")["metadata"]["managedFields"]
    deleting = store.delete("v1", "ConfigMap", "f", "default")
    assert deleting["metadata"]["deletionTimestamp"]
    assert deleting["metadata"]["managedFields"] == before
    labelled = store.patch("v1", "ConfigMap", "f", "default", {"metadata": {"labels": {"x": "y"}}},
                           patch_type="merge", manager="other")
    assert "deletionTimestamp" not in json.dumps(labelled["metadata"]["managedFields"])
    assert "deletionGracePeriodSeconds" not in json.dumps(labelled["metadata"]["managedFields"])


def test_wrong_json_type_on_builtin_is_bad_request(quiet):
    bad = deployment(replicas="3")
    status, _headers, err = http(quiet, "POST", DEPLOYMENTS, bad)
    assert status == 400 and err["reason"] == "BadRequest", err
    assert err["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
                              'unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32')
    status, _headers, _body = http(quiet, "POST", DEPLOYMENTS, deployment())
    assert status == 201
    status, _headers, err = http(quiet, "PUT", DEPLOYMENTS + "/d", deployment(template={
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x",
                                                                    "ports": [{"containerPort": "80"}]}]}}))
    assert status == 400 and err["message"].endswith(
        "json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports"
        ".containerPort of type int32"), err
    # a merge patch that produces a wrongly typed field: 422 on the field "patch"
    status, _headers, err = http(quiet, "PATCH", DEPLOYMENTS + "/d", {"spec": {"paused": "yes"}},
                                 content_type="application/merge-patch+json")
    assert status == 422 and err["details"]["causes"][0]["field"] == "patch", err
    assert "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type bool" in (
        err["message"])


def test_other_validation_errors_stay_invalid(quiet):
    no_containers = deployment("e")
    no_containers["spec"]["template"]["spec"] = {}
    status, _headers, err = http(quiet, "POST", DEPLOYMENTS, no_containers)
    assert status == 422 and err["reason"] == "Invalid", err
    quiet.store.create(widget_crd(), manager="t")
    status, _headers, err = http(quiet, "POST", "/apis/example.com/v1/namespaces/default/widgets", widget(size="big"))
    assert status == 422 and err["details"]["causes"][0]["field"] == "spec.size", err


def test_local_cluster_takes_delays_and_faults_as_dicts():
    cluster = LocalCluster(delays={"workloads": 5, "olm_install": 2.5},
                           faults={"error_rate": 0.5, "error_codes": [503], "seed": 3})
    assert cluster.config.delays == Delays(workloads=5, olm_install=2.5)
    assert cluster.config.faults == Faults(error_rate=0.5, error_codes=(503,), seed=3)
    with pytest.raises(TypeError):
        LocalCluster(delays={"nonsense": 1})
