"""Server-side apply details, decoding errors of built-in kinds and LocalCluster settings."""

from __future__ import annotations

import datetime
import itertools
import json
import time

import pytest
import yaml
from kubernetes import config, dynamic

from tests.cluster import LocalCluster
from tests.cluster import __main__ as cli
from tests.cluster import store as store_module
from tests.cluster.config import Delays, Faults
from tests.cluster.errors import ApiError
from tests.helpers import http, play_recap, run_playbook
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


# ----------------------------------------------------------------------------- identical re-apply is a no-op

APPLY_MANAGER = "orchestrator-test"


def parts_crd():
    """Widget whose spec.parts is an atomic list of objects with a schema default inside."""
    return widget_crd(properties={"size": {"type": "integer"}, "parts": {"type": "array", "items": {
        "type": "object", "properties": {"name": {"type": "string"},
                                         "weight": {"type": "integer", "default": 1}}}}})


def reapplied_objects() -> list[dict]:
    """Objects whose apply body lacks fields the server defaults (in atomic lists, list-maps, write-only)."""
    container = {"name": "db", "image": "postgres:15", "args": ["-c", "max_connections=50"],
                 "ports": [{"containerPort": 5432}]}
    claim = {"metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
           "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [container]}},
                    "volumeClaimTemplates": [claim]}}
    dep = deployment("web")
    dep["spec"].pop("replicas")
    dep["spec"]["template"]["spec"]["containers"][0].update(
        ports=[{"containerPort": 8080}], env=[{"name": "MODE", "value": "prod"}])
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "default"},
              "stringData": {"password": "s3cret"}}
    return [sts, dep, secret, widget(size=2, parts=[{"name": "a"}, {"name": "b", "weight": 3}])]


@pytest.fixture
def ticking(monkeypatch):
    """Each server timestamp is one second after the previous one, so a stamped time always differs."""
    ticks = itertools.count()
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    monkeypatch.setattr(store_module, "now_rfc3339", lambda: (
        start + datetime.timedelta(seconds=next(ticks))).strftime("%Y-%m-%dT%H:%M:%SZ"))


@pytest.fixture
def idle(cluster_factory, ticking):
    """No simulated controllers: only the requests of the test write."""
    cluster = cluster_factory(controllers=(), controller_interval=3600)
    cluster.store.create(parts_crd(), manager="t")
    return cluster


def get(store, obj):
    return store.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"])


def test_identical_apply_through_the_python_client_is_a_no_op(idle):
    dyn = dynamic.DynamicClient(config.new_client_from_config(str(idle.kubeconfig)))
    for obj in reapplied_objects():
        res = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        first = res.server_side_apply(body=obj, field_manager=APPLY_MANAGER, force_conflicts=True).to_dict()
        second = res.server_side_apply(body=obj, field_manager=APPLY_MANAGER, force_conflicts=True).to_dict()
        stored = get(idle.store, obj)
        assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"], obj["kind"]
        assert second["metadata"]["managedFields"] == first["metadata"]["managedFields"], obj["kind"]
        assert second == first and stored == first, obj["kind"]
    sts = get(idle.store, reapplied_objects()[0])
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"  # defaults are there
    assert get(idle.store, reapplied_objects()[3])["spec"]["parts"] == [{"name": "a", "weight": 1},
                                                                        {"name": "b", "weight": 3}]


def test_identical_raw_apply_patch_is_a_no_op_and_a_change_still_writes(idle):
    sts = reapplied_objects()[0]
    path = "/apis/apps/v1/namespaces/default/statefulsets/db?fieldManager=" + APPLY_MANAGER + "&force=true"
    status, _headers, first = http(idle, "PATCH", path, yaml.safe_dump(sts),
                                   content_type="application/apply-patch+yaml")
    assert status == 201, first
    status, _headers, second = http(idle, "PATCH", path, yaml.safe_dump(sts),
                                    content_type="application/apply-patch+yaml")
    assert status == 200 and second == first == get(idle.store, sts)
    # (a StatefulSet's volumeClaimTemplates cannot change: its Pod template can)
    sts["spec"]["template"]["metadata"]["labels"]["tier"] = "data"
    time.sleep(1.1)  # managedFields times have whole seconds
    status, _headers, third = http(idle, "PATCH", path, yaml.safe_dump(sts),
                                   content_type="application/apply-patch+yaml")
    assert status == 200, third
    assert int(third["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert entry(third, APPLY_MANAGER)["time"] > entry(first, APPLY_MANAGER)["time"]


def test_identical_apply_through_kubernetes_core_is_unchanged(idle):
    tasks = [{"name": f"apply {obj['kind']}", "kubernetes.core.k8s": {
        "apply": True, "server_side_apply": {"field_manager": APPLY_MANAGER, "force_conflicts": True},
        "definition": obj}} for obj in reapplied_objects()]
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    first = run_playbook(idle, play)
    assert first.returncode == 0, first.stdout + first.stderr
    assert play_recap(first.stdout)["changed"] == 4, first.stdout
    before = [get(idle.store, obj) for obj in reapplied_objects()]
    second = run_playbook(idle, play)
    assert second.returncode == 0, second.stdout + second.stderr
    assert play_recap(second.stdout)["changed"] == 0, second.stdout
    assert [get(idle.store, obj) for obj in reapplied_objects()] == before


def test_failing_jobs_setting_from_overrides_and_command_line(tmp_path):
    assert LocalCluster(failing_jobs=["migrate", "seed", "migrate"]).config.failing_jobs == frozenset(
        {"migrate", "seed"})
    args = cli.parse_args(["--kubeconfig", str(tmp_path / "kc"), "--fail-job", "migrate", "--fail-job", "seed"])
    built = cli.build_config(args)
    assert built.failing_jobs == frozenset({"migrate", "seed"}) and isinstance(built.failing_jobs, frozenset)
    assert cli.build_config(cli.parse_args(["--kubeconfig", "kc"])).failing_jobs == frozenset()
