"""The generated_secret module as Ansible runs it: arguments in, JSON out."""

import base64

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import secrets as sec
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from ansible_collections.parodos.orchestrator.plugins.modules import generated_secret
from tests.unit.fakes import FakeApi

PATH = "/api/v1/namespaces/db/secrets"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def cluster(secrets=(), namespaces=("db",), conflict_once=False):
    """The API with ``secrets`` in namespace db; with ``conflict_once``, another writer creates the Secret
    (with its own password) just before ours."""
    api = FakeApi({PATH + "/" + o["metadata"]["name"]: o for o in secrets}, namespaces=namespaces)
    if conflict_once:
        def race(api):
            api.objects[PATH + "/creds"] = {"metadata": {"name": "creds"}, "type": "Opaque",
                                            "data": {"postgres-password": b64("raced-in-password")}}
        api.on_request(race, method="POST", path=PATH, times=1)
    return api


def values(api, name="creds"):
    """The decoded data of a stored Secret."""
    return {k: base64.b64decode(v).decode() for k, v in api.objects[PATH + "/" + name]["data"].items()}


ARGS = {"name": "creds", "namespace": "db", "labels": {"app.kubernetes.io/managed-by": "parodos.orchestrator"},
        "data": {"postgres-username": "dbuser"}, "generate": [{"key": "postgres-password"}]}


def test_creates_then_keeps(run_module):
    api = cluster()
    code, result = run_module(generated_secret, ARGS, api)
    assert code == 0, result
    assert result["changed"] is True
    assert result["secret"] == {"name": "creds", "namespace": "db", "keys": ["postgres-password", "postgres-username"]}
    assert result["generated"] == ["postgres-password"]
    assert result["changed_keys"] == ["postgres-password", "postgres-username"]
    assert api.calls() == [("GET", PATH + "/creds"), ("POST", PATH)]
    stored = values(api)
    assert len(stored["postgres-password"]) == 32
    assert stored["postgres-password"] not in run_module.out
    assert api.objects[PATH + "/creds"]["metadata"]["labels"] == ARGS["labels"]

    api.requests.clear()
    code, result = run_module(generated_secret, ARGS, api)
    assert code == 0 and result["changed"] is False
    assert result["generated"] == [] and result["changed_keys"] == []
    assert api.calls("method", "path", "dry_run") == [("GET", PATH + "/creds", False)]
    assert values(api) == stored


def test_patches_only_changed_keys(run_module):
    existing = {"metadata": {"name": "creds", "labels": {"theirs": "x"}}, "type": "Opaque",
                "data": {"postgres-password": b64("kept-password-value"), "other": b64("o")}}
    api = cluster([existing])
    code, result = run_module(generated_secret, ARGS, api)
    assert code == 0 and result["changed"] is True
    assert result["changed_keys"] == ["postgres-username"] and result["generated"] == []
    assert api.bodies() == [{"metadata": {"labels": ARGS["labels"]}, "data": {"postgres-username": b64("dbuser")}}]
    assert values(api) == {"postgres-password": "kept-password-value", "other": "o",
                           "postgres-username": "dbuser"}
    assert api.objects[PATH + "/creds"]["metadata"]["labels"]["theirs"] == "x"
    assert result["secret"]["keys"] == ["other", "postgres-password", "postgres-username"]


def test_empty_stored_value_is_regenerated(run_module):
    existing = {"metadata": {"name": "creds"}, "type": "Opaque",
                "data": {"postgres-password": "", "postgres-username": b64("dbuser")}}
    api = cluster([existing])
    code, result = run_module(generated_secret, dict(ARGS, labels={}), api)
    assert code == 0 and result["changed"] is True
    assert result["generated"] == ["postgres-password"]
    assert list(api.bodies()[0]["data"]) == ["postgres-password"]
    assert len(values(api)["postgres-password"]) == 32


def test_check_mode_sends_dry_run_and_diff_hides_values(run_module):
    api = cluster()
    code, result = run_module(generated_secret, ARGS, api, check=True, diff=True)
    assert code == 0 and result["changed"] is True
    assert api.calls("method", "path", "dry_run")[-1] == ("POST", PATH, True)
    assert list(api.objects) == ["/api/v1/namespaces/db"]
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["data"] == {"postgres-password": "<hidden, changed>",
                                               "postgres-username": "<hidden, changed>"}
    generated = base64.b64decode(api.bodies()[0]["data"]["postgres-password"]).decode()
    assert generated not in run_module.out and api.bodies()[0]["data"]["postgres-password"] not in run_module.out
    assert "dbuser" not in run_module.out and b64("dbuser") not in run_module.out


def test_check_mode_patch_is_dry_run(run_module):
    existing = {"metadata": {"name": "creds"}, "type": "Opaque", "data": {"postgres-password": b64("p" * 20)}}
    api = cluster([existing])
    code, result = run_module(generated_secret, ARGS, api, check=True, diff=True)
    assert code == 0 and result["changed"] is True
    assert api.calls("method", "path", "dry_run")[-1] == ("PATCH", PATH + "/creds", True)
    assert values(api) == {"postgres-password": "p" * 20}
    assert result["diff"]["before"]["data"] == {"postgres-password": "<hidden>"}
    assert result["diff"]["after"]["data"] == {"postgres-password": "<hidden>",
                                               "postgres-username": "<hidden, changed>"}
    assert "p" * 20 not in run_module.out


def test_check_mode_in_a_missing_namespace_reports_a_create(run_module):
    api = cluster(namespaces=())
    code, result = run_module(generated_secret, ARGS, api, check=True)
    assert code == 0 and result["changed"] is True
    assert result["generated"] == ["postgres-password"]


def test_missing_namespace_fails_outside_check_mode(run_module):
    api = cluster(namespaces=())
    code, result = run_module(generated_secret, ARGS, api)
    assert code == 1 and result["failed"]
    assert result["msg"] == 'Secret db/creds: namespaces "db" not found'


def test_conflict_on_create_plans_again(run_module):
    api = cluster(conflict_once=True)
    code, result = run_module(generated_secret, dict(ARGS, labels={}), api)
    assert code == 0, result
    assert [m for m, p in api.calls()] == ["GET", "POST", "GET", "PATCH"]
    assert values(api)["postgres-password"] == "raced-in-password"
    assert result["generated"] == [] and result["changed_keys"] == ["postgres-username"]


def test_type_cannot_change(run_module):
    existing = {"metadata": {"name": "creds"}, "type": "kubernetes.io/basic-auth", "data": {}}
    api = cluster([existing])
    code, result = run_module(generated_secret, ARGS, api)
    assert code == 1
    assert "has type kubernetes.io/basic-auth, not Opaque" in result["msg"]
    assert [m for m, p in api.calls()] == ["GET"]


@pytest.mark.parametrize("args, message", [
    ({"generate": [{"key": "p", "length": 8}]}, "generate: length of p must be at least 16, got 8"),
    ({"name": ""}, "name must not be empty"),
])
def test_invalid_options(run_module, args, message):
    api = cluster()
    code, result = run_module(generated_secret, dict(ARGS, **args), api)
    assert code == 1 and message in result["msg"]
    assert api.requests == []


def test_api_error_message_never_carries_a_value(run_module):
    api = cluster()

    def rejected(request):
        value = base64.b64decode(request.body["data"]["postgres-password"]).decode()
        return ApiError("rejected value %s" % value, 422)

    api.fail(rejected, method="POST")
    code, result = run_module(generated_secret, ARGS, api)
    assert code == 1
    assert result["msg"].startswith("Secret db/creds: rejected value ")
    assert "********" in result["msg"]


def test_unreachable_cluster_fails_clearly(run_module):
    code, result = run_module(generated_secret, ARGS,
                              connect=lambda module: (None, ("connection refused", 0, "https://127.0.0.1:1")))
    assert code == 1 and result["failed"]
    assert result["msg"] == "Cannot reach the Kubernetes API at https://127.0.0.1:1: connection refused"


def test_name_and_namespace_stay_readable_and_invocation_hides_values(run_module):
    api = cluster(namespaces=("sonataflow-infra",))
    args = dict(ARGS, name="sonataflow-psql", namespace="sonataflow-infra",
                data={"postgres-username": "sonataflow", "token": "given-secret-value"})
    code, result = run_module(generated_secret, args, api)
    assert code == 0, result
    assert result["secret"]["name"] == "sonataflow-psql"
    assert result["secret"]["namespace"] == "sonataflow-infra"
    assert result["invocation"]["module_args"]["data"] == {
        "postgres-username": sec.HIDDEN_ARG, "token": sec.HIDDEN_ARG}
    assert "given-secret-value" not in run_module.out
    assert '"sonataflow"' not in run_module.out


def test_failure_invocation_hides_values(run_module):
    api = cluster(namespaces=())
    code, result = run_module(generated_secret, dict(ARGS, data={"token": "given-secret-value"}), api)
    assert code == 1
    assert result["invocation"]["module_args"]["data"] == {"token": sec.HIDDEN_ARG}
    assert "given-secret-value" not in run_module.out
