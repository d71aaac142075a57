"""generated_secret against the local test cluster: create, keep, check mode, no value in the output."""

from __future__ import annotations

import base64

from tests.helpers import play_recap, run_module, writes

NAME = "sonataflow-psql-postgresql"
NAMESPACE = "default"


def secret_args(namespace=NAMESPACE, **extra):
    return {"name": NAME, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "parodos.orchestrator"},
            "data": {"postgres-username": "sonataflow"}, "generate": [{"key": "postgres-password", "length": 24}],
            **extra}


def run(cluster, tmp_path, check=False, diff=False, **extra):
    """The module, which must succeed; returns (output, result)."""
    output, result = run_module(cluster, tmp_path, "generated_secret", secret_args(**extra), check=check, diff=diff,
                                verbose=True)
    assert not result.get("failed"), output
    return output, result


def stored(cluster, namespace=NAMESPACE):
    obj = cluster.store.try_get("v1", "Secret", NAME, namespace)
    if obj is None:
        return None
    return {k: base64.b64decode(v).decode() for k, v in obj["data"].items()}


def test_create_then_keep(cluster, tmp_path):
    output, result = run(cluster, tmp_path, diff=True)
    assert result["changed"] is True
    assert result["generated"] == ["postgres-password"]
    assert result["secret"] == {"name": NAME, "namespace": NAMESPACE,
                                "keys": ["postgres-password", "postgres-username"]}
    first = stored(cluster)
    password = first["postgres-password"]
    assert len(password) == 24 and first["postgres-username"] == "sonataflow"
    assert password not in output
    assert base64.b64encode(password.encode()).decode() not in output
    assert "<hidden, changed>" in output
    assert '"postgres-username": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in output
    assert cluster.store.get("v1", "Secret", NAME, NAMESPACE)["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "parodos.orchestrator"}
    posts = cluster.requests.find("POST", "/secrets")
    assert [(e.status, "fieldManager=parodos.orchestrator" in e.query) for e in posts] == [(201, True)]

    cluster.requests.reset()
    output, result = run(cluster, tmp_path, diff=True)
    assert result["changed"] is False
    assert result["generated"] == [] and result["changed_keys"] == []
    assert play_recap(output)["changed"] == 0
    assert stored(cluster) == first
    assert password not in output
    assert [e.method for e in cluster.requests.entries if "/secrets" in e.path] == ["GET"]


def test_patch_only_what_changed(cluster, tmp_path):
    run(cluster, tmp_path)
    password = stored(cluster)["postgres-password"]
    cluster.requests.reset()
    output, result = run(cluster, tmp_path, data={"postgres-username": "other"})
    assert result["changed"] is True and result["changed_keys"] == ["postgres-username"]
    assert stored(cluster) == {"postgres-password": password, "postgres-username": "other"}
    patches = cluster.requests.find("PATCH", "/secrets/" + NAME)
    assert [(e.content_type, e.status) for e in patches] == [("application/merge-patch+json", 200)]
    assert password not in output


def test_check_mode_writes_nothing(cluster, tmp_path):
    output, result = run(cluster, tmp_path, check=True, diff=True)
    assert result["changed"] is True
    assert result["generated"] == ["postgres-password"]
    assert stored(cluster) is None
    assert writes(cluster, reviews=True) == []
    dry = cluster.requests.find("POST", "/namespaces/default/secrets")
    assert [(e.status, "dryRun=All" in e.query) for e in dry] == [(201, True)]
    assert "<hidden, changed>" in output


def test_check_mode_in_a_missing_namespace(cluster, tmp_path):
    output, result = run(cluster, tmp_path, check=True, namespace="not-yet")
    assert result["changed"] is True
    assert stored(cluster, "not-yet") is None
    assert writes(cluster, reviews=True) == []


def test_missing_namespace_fails_clearly(cluster, tmp_path):
    output, result = run_module(cluster, tmp_path, "generated_secret", secret_args(namespace="not-yet"))
    assert result["failed"] is True
    assert "Secret not-yet/%s: " % NAME in output
    assert "not found" in output
    assert "Traceback" not in output
