"""apply against the local test cluster: create then keep, foreign objects, diffs, check mode, injected faults."""

from __future__ import annotations

import base64
import json

from tests.cluster.config import Faults
from tests.helpers import play_recap, run_module, writes

NS = "apply-demo"
OURS = {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator"}
PASSWORD = "e2e-apply-password-value-0123"
OLD_PASSWORD = "e2e-apply-old-password-value"


def config_map(data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": NS},
            "data": data or {"mode": "demo"}}


def secret(password=PASSWORD):
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "creds", "namespace": NS},
            "stringData": {"username": "demo", "password": password}}


def deployment():
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "example/web:1"}]}}}}


PATHS = [f"/api/v1/namespaces/{NS}/configmaps/settings", f"/api/v1/namespaces/{NS}/secrets/creds",
         f"/apis/apps/v1/namespaces/{NS}/deployments/web"]
REFS = [f"ConfigMap/{NS}/settings", f"Secret/{NS}/creds", f"Deployment/{NS}/web"]


def run(cluster, tmp_path, definition=None, *, check=False, **options):
    args = {"component": "Demo", "labels": OURS, "wait_timeout": 60, "wait_sleep": 0.5,
            "definition": definition if definition is not None else [config_map(), secret(), deployment()],
            **options}
    return run_module(cluster, tmp_path, "apply", args, check=check, diff=True, verbose=True)


def assert_hidden(output, values):
    for value in values:
        assert value not in output, "a secret value is in the output"
        assert base64.b64encode(value.encode()).decode() not in output, "an encoded secret value is in the output"


def stored_secret(cluster):
    obj = cluster.store.try_get("v1", "Secret", "creds", NS)
    return None if obj is None else {k: base64.b64decode(v).decode() for k, v in obj["data"].items()}


def add_namespace(cluster, labels=None):
    cluster.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": labels or {}}},
                         manager="test")


def test_create_and_wait_then_nothing_to_do_with_one_get_per_object(cluster, tmp_path):
    output, result = run(cluster, tmp_path, wait=True)
    assert not result.get("failed"), output
    assert result["changed"] is True and result["ready"] is True
    assert result["created"] == [f"Namespace/{NS}"] + REFS
    assert [r["ready"] for r in result["objects"][1:]] == [None, None, True]
    for api_version, kind, name in (("v1", "ConfigMap", "settings"), ("v1", "Secret", "creds"),
                                    ("apps/v1", "Deployment", "web")):
        assert cluster.store.get(api_version, kind, name, NS)["metadata"]["labels"] == OURS
    assert cluster.store.get("v1", "Namespace", NS)["metadata"]["labels"]["app.kubernetes.io/managed-by"] \
        == "parodos.orchestrator"
    assert stored_secret(cluster) == {"username": "demo", "password": PASSWORD}
    assert "managedFields" not in output and "<redacted:changed>" in output
    assert_hidden(output, [PASSWORD])

    cluster.requests.reset()
    output, result = run(cluster, tmp_path, wait=True)
    assert result["changed"] is False and play_recap(output)["changed"] == 0, output
    assert result["kept"] == REFS and result["ready"] is True
    assert [(e.method, e.path) for e in cluster.requests.entries] == [("GET", path) for path in PATHS]
    assert_hidden(output, [PASSWORD])


def test_a_foreign_object_is_reused_with_a_warning_and_left_alone(cluster, tmp_path):
    add_namespace(cluster)
    theirs = dict(config_map({"mode": "theirs"}), metadata={"name": "settings", "namespace": NS,
                                                            "labels": {"team": "a"}})
    cluster.store.create(theirs, manager="test")
    before = cluster.store.get("v1", "ConfigMap", "settings", NS)
    cluster.requests.reset()
    output, result = run(cluster, tmp_path, [config_map()])
    assert not result.get("failed"), output
    assert result["changed"] is False and result["reused"] == [REFS[0]]
    assert f"{REFS[0]} exists without the collection's mark" in output and "[WARNING]" in output
    assert writes(cluster, dry_run=None) == []
    assert cluster.store.get("v1", "ConfigMap", "settings", NS) == before


def test_diff_of_an_update_shows_the_fields_set_and_no_secret_value(cluster, tmp_path):
    output, result = run(cluster, tmp_path, [config_map(), secret(OLD_PASSWORD)])
    assert result["changed"] is True, output
    cluster.requests.reset()
    output, result = run(cluster, tmp_path, [config_map({"mode": "live"}), secret()])
    assert result["updated"] == REFS[:2], output
    assert [(e.method, e.content_type) for e in cluster.requests.entries if e.method != "GET"] == [
        ("PATCH", "application/merge-patch+json")] * 2
    [cm_diff, secret_diff] = result["diff"]
    assert cm_diff["before"]["data"] == {"mode": "demo"} and cm_diff["after"]["data"] == {"mode": "live"}
    assert cm_diff["after"]["metadata"] == {"name": "settings", "namespace": NS, "labels": OURS}
    assert secret_diff["before"]["data"] == {"username": "<redacted>", "password": "<redacted>"}
    assert secret_diff["after"]["data"] == {"username": "<redacted>", "password": "<redacted:changed>"}
    assert "managedFields" not in output
    for noise in ("resourceVersion", "creationTimestamp", "uid", "status"):
        assert noise not in json.dumps(result["diff"])
    assert_hidden(output + json.dumps(result), [PASSWORD, OLD_PASSWORD])
    assert stored_secret(cluster)["password"] == PASSWORD


def test_check_mode_writes_nothing(cluster, tmp_path):
    # no namespace yet: its creation is sent as a dry run, the objects in it cannot be
    output, result = run(cluster, tmp_path, check=True)
    assert not result.get("failed"), output
    assert result["changed"] is True and result["created"] == [f"Namespace/{NS}"] + REFS
    assert [r["sent"] for r in result["objects"]] == [True, False, False, False]
    assert writes(cluster) == [] and writes(cluster, dry_run=True) == [("POST", "/api/v1/namespaces")]
    assert cluster.store.try_get("v1", "Namespace", NS) is None
    assert_hidden(output, [PASSWORD])

    # with the namespace: every object is sent as a dry run, nothing is stored
    add_namespace(cluster)
    cluster.requests.reset()
    output, result = run(cluster, tmp_path, check=True, wait=True)
    assert result["changed"] is True and result["created"] == REFS, output
    assert [r["sent"] for r in result["objects"]] == [True, True, True]
    assert writes(cluster) == []
    assert writes(cluster, dry_run=True) == [("POST", f"/api/v1/namespaces/{NS}/configmaps"),
                                             ("POST", f"/api/v1/namespaces/{NS}/secrets"),
                                             ("POST", f"/apis/apps/v1/namespaces/{NS}/deployments")]
    assert all(cluster.store.try_get(v, k, n, NS) is None
               for v, k, n in (("v1", "ConfigMap", "settings"), ("v1", "Secret", "creds"),
                               ("apps/v1", "Deployment", "web")))
    assert_hidden(output, [PASSWORD])


def test_converges_with_one_request_in_five_failing(cluster_factory, tmp_path):
    cluster = cluster_factory(faults=Faults(error_rate=0.2, seed=5))
    output, result = run(cluster, tmp_path, wait=True)
    assert not result.get("failed"), output
    assert result["changed"] is True and result["created"] == [f"Namespace/{NS}"] + REFS and result["ready"] is True
    assert stored_secret(cluster) == {"username": "demo", "password": PASSWORD}
    failed = [e for e in cluster.requests.entries if e.status in (429, 500, 503)]
    assert failed, "no fault was injected"

    cluster.requests.reset()
    output, result = run(cluster, tmp_path, wait=True)
    assert not result.get("failed"), output
    assert result["changed"] is False and result["kept"] == REFS
    assert writes(cluster, dry_run=None) == []
    assert_hidden(output, [PASSWORD])
