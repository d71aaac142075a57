"""The backend_secret module as Ansible runs it: arguments in, JSON out."""

import base64
import json

import pytest

from ansible.module_utils import basic
from ansible_collections.parodos.orchestrator.plugins.module_utils import backend_secret as bs
from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.modules import backend_secret
from tests.unit.fakes import HOST, FakeApi

NS = "/api/v1/namespaces/rhdh/secrets"
PATH = NS + "/backstage-backend-auth-secret"
TOKEN = "/api/v1/namespaces/orchestrator/secrets/orchestrator-token"
ROUTES = "/apis/route.openshift.io/v1/namespaces/orchestrator-gitops/routes"
ARGO = "/api/v1/namespaces/orchestrator-gitops/secrets/argocd-cluster"
SA_TOKEN = "eyJhbGciOiJSUzI1NiJ9.service-account-token-value"
ARGO_PASSWORD = "argocd-admin-password-value"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def cluster(objects):
    """An OpenShift API (Routes served) with namespace rhdh and ``objects``."""
    return FakeApi(objects, served=(ROUTES,), namespaces=("rhdh",))


def values(api, path=PATH):
    """The decoded data of a stored Secret."""
    return {k: base64.b64decode(v).decode() for k, v in api.objects[path]["data"].items()}


def cluster_objects(token=SA_TOKEN, argocd=True):
    objects = {TOKEN: {"type": bs.TOKEN_TYPE, "metadata": {"name": "orchestrator-token"},
                       "data": {"token": b64(token)} if token else {}}}
    if argocd:
        objects[ROUTES + "/argocd-server"] = {"metadata": {"name": "argocd-server",
                                                           "labels": {"app.kubernetes.io/managed-by": "argocd"}},
                                              "spec": {"host": "argocd-server-orchestrator-gitops.apps.test"}}
        # a Route the ArgoCD operator does not manage: not ArgoCD's address
        objects[ROUTES + "/argocd-server-copy"] = {"metadata": {"name": "argocd-server-copy"},
                                                   "spec": {"host": "elsewhere.apps.test"}}
        objects[ARGO] = {"type": "Opaque", "data": {"admin.password": b64(ARGO_PASSWORD)}}
    return objects


ARGS = {"namespace": "rhdh",
        "cluster_token_secret": {"namespace": "orchestrator", "name": "orchestrator-token"},
        "github_token": "ghp_given_github_token_value",
        "github_client_id": "client-id-value",
        "github_client_secret": "given-client-secret-value",
        "argocd": {"enabled": True, "namespace": "orchestrator-gitops"}}
ALL_KEYS = ["ARGOCD_PASSWORD", "ARGOCD_URL", "ARGOCD_USERNAME", "BACKEND_SECRET", "GITHUB_CLIENT_ID",
            "GITHUB_CLIENT_SECRET", "GITHUB_TOKEN", "K8S_CLUSTER_TOKEN", "K8S_CLUSTER_URL"]


@pytest.fixture
def warnings(monkeypatch):
    """Warnings the module gives, in order."""
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: seen.append(text))
    return seen


def assert_no_value(out, values):
    for value in values:
        assert value not in out, value
        assert b64(value) not in out, value


def test_creates_then_changes_nothing(run_module):
    api = cluster(cluster_objects())
    code, result = run_module(backend_secret, ARGS, api, diff=True)
    assert code == 0, result
    assert result["changed"] is True
    assert result["secret"] == {"name": "backstage-backend-auth-secret", "namespace": "rhdh"}
    assert result["keys"] == ALL_KEYS and result["added"] == ALL_KEYS
    assert result["generated"] == ["BACKEND_SECRET"]
    assert (result["updated"], result["removed"], result["adopted"], result["reused"]) == ([], [], False, False)
    stored = values(api)
    assert stored["K8S_CLUSTER_URL"] == HOST and stored["K8S_CLUSTER_TOKEN"] == SA_TOKEN
    assert stored["ARGOCD_URL"] == "https://argocd-server-orchestrator-gitops.apps.test"
    assert stored["ARGOCD_USERNAME"] == "admin" and stored["ARGOCD_PASSWORD"] == ARGO_PASSWORD
    assert len(stored["BACKEND_SECRET"]) == 64
    assert api.objects[PATH]["metadata"]["labels"] == k8s.OWNERSHIP_LABELS
    assert result["diff"]["after"]["data"]["BACKEND_SECRET"] == "<hidden, changed>"
    assert_no_value(run_module.out, [v for k, v in stored.items()
                                     if k not in ("K8S_CLUSTER_URL", "ARGOCD_URL", "ARGOCD_USERNAME",
                                                  "GITHUB_CLIENT_ID")])

    api.requests.clear()
    code, again = run_module(backend_secret, ARGS, api)
    assert code == 0 and again["changed"] is False
    assert again["keys"] == ALL_KEYS
    assert again["added"] == again["updated"] == again["removed"] == again["generated"] == []
    assert api.writes() == []
    assert values(api) == stored


def test_keys_without_inputs_are_kept_renames_move_and_remove_keys_removes(run_module):
    api = cluster(cluster_objects())
    run_module(backend_secret, ARGS, api)
    first = values(api)
    # a later run without the GitHub values (a vault not loaded), ArgoCD and the token
    args = dict(ARGS, github_token="", github_client_id="", github_client_secret="",
                argocd={"enabled": False}, cluster_token_secret={"name": ""},
                keys={"backend_secret": "BACKEND_AUTH"},
                email={"enabled": True, "hostname": "smtp.example.test", "password": "smtp-password-value"})
    code, result = run_module(backend_secret, args, api)
    assert code == 0, result
    kept = sorted(set(ALL_KEYS) - {"BACKEND_SECRET"})
    assert result["keys"] == sorted(kept + ["BACKEND_AUTH", "NOTIFICATIONS_EMAIL_HOSTNAME",
                                            "NOTIFICATIONS_EMAIL_PASSWORD"])
    assert result["added"] == ["BACKEND_AUTH", "NOTIFICATIONS_EMAIL_HOSTNAME", "NOTIFICATIONS_EMAIL_PASSWORD"]
    assert result["removed"] == ["BACKEND_SECRET"] and result["updated"] == result["generated"] == []
    stored = values(api)
    assert stored["BACKEND_AUTH"] == first["BACKEND_SECRET"]
    assert {key: stored[key] for key in kept} == {key: first[key] for key in kept}
    assert api.bodies()[-1]["data"]["BACKEND_SECRET"] is None and "GITHUB_TOKEN" not in api.bodies()[-1]["data"]

    remove = ["github_token", "github_client_id", "github_client_secret", "cluster_url", "cluster_token",
              "argocd_url", "argocd_username", "argocd_password"]
    code, result = run_module(backend_secret, dict(args, remove_keys=remove), api)
    assert code == 0, result
    assert result["removed"] == kept and result["added"] == result["updated"] == []
    assert result["keys"] == ["BACKEND_AUTH", "NOTIFICATIONS_EMAIL_HOSTNAME", "NOTIFICATIONS_EMAIL_PASSWORD"]
    assert sorted(api.bodies()[-1]["data"]) == kept and set(api.bodies()[-1]["data"].values()) == {None}
    assert_no_value(run_module.out, [first["BACKEND_SECRET"], SA_TOKEN, ARGO_PASSWORD, ARGS["github_token"]])

    api.requests.clear()
    code, result = run_module(backend_secret, dict(args, remove_keys=remove), api)
    assert code == 0 and result["changed"] is False and api.writes() == []


@pytest.mark.parametrize("args, message", [
    ({"remove_keys": ["github_token"]}, "remove_keys: github_token also gets a value in this run"),
    ({"remove_keys": ["cluster_token"]}, "remove_keys: cluster_token also gets a value in this run"),
    ({"remove_keys": ["argocd_url"]}, "remove_keys: argocd_url also gets a value in this run"),
    ({"remove_keys": ["email_hostname"], "email": {"enabled": True, "hostname": "smtp"}},
     "remove_keys: email_hostname also gets a value in this run"),
    ({"remove_keys": ["backend_secret"]}, "value of remove_keys must be one or more of: cluster_url, "),
    ({"remove_keys": ["GITHUB_TOKEN"]}, "value of remove_keys must be one or more of: "),
])
def test_remove_keys_is_checked_before_connecting(run_module, args, message):
    code, result = run_module(backend_secret, dict(ARGS, **args))
    assert code == 1 and message in result["msg"], result["msg"]


def test_foreign_secret_is_reused_with_a_warning(run_module, warnings):
    objects = cluster_objects()
    objects[PATH] = {"type": "Opaque", "metadata": {"name": "backstage-backend-auth-secret"},
                     "data": {"BACKEND_SECRET": b64("their-backend-secret"), "GITHUB_TOKEN": b64("old")}}
    api = cluster(objects)
    code, result = run_module(backend_secret, ARGS, api)
    assert code == 0, result
    assert result["changed"] is False and result["reused"] is True and result["adopted"] is False
    assert result["keys"] == ["BACKEND_SECRET", "GITHUB_TOKEN"]
    assert api.writes() == []
    [warning] = warnings
    assert "left as it is" in warning and "GITHUB_TOKEN" in warning and "K8S_CLUSTER_TOKEN" in warning
    assert_no_value(run_module.out, ["their-backend-secret", SA_TOKEN, ARGO_PASSWORD, ARGS["github_token"]])


def test_foreign_secret_is_adopted(run_module, warnings):
    objects = cluster_objects(argocd=False)
    objects[PATH] = {"type": "Opaque", "metadata": {"name": "backstage-backend-auth-secret", "labels": {"x": "y"}},
                     "data": {"BACKEND_SECRET": b64("their-backend-secret"), "OWN": b64("o")}}
    api = cluster(objects)
    code, result = run_module(backend_secret, dict(ARGS, adopt=True, labels={"team": "t"}), api)
    assert code == 0, result
    assert result["changed"] is True and result["adopted"] is True and result["reused"] is False
    labels = api.objects[PATH]["metadata"]["labels"]
    assert labels == dict(k8s.OWNERSHIP_LABELS, x="y", team="t")
    assert values(api)["BACKEND_SECRET"] == "their-backend-secret" and values(api)["OWN"] == "o"
    assert warnings == ["ArgoCD instance argocd in namespace orchestrator-gitops not found (no Route "
                        "labelled app.kubernetes.io/managed-by=argocd with a host in namespace "
                        "orchestrator-gitops): no ArgoCD keys are written."]
    assert "ARGOCD_URL" not in result["keys"]


def test_check_mode_sends_dry_run_and_does_not_wait_for_the_token(run_module):
    api = cluster(cluster_objects(token=""))
    code, result = run_module(backend_secret, ARGS, api, check=True, diff=True)
    assert code == 0, result
    assert result["changed"] is True and result["keys"] == ALL_KEYS
    assert api.writes() == [("POST", NS, True)]
    assert PATH not in api.objects
    assert result["diff"]["before"] == {}
    assert set(result["diff"]["after"]["data"].values()) == {"<hidden, changed>"}


def test_missing_token_fails_naming_the_secret(run_module, monkeypatch):
    monkeypatch.setattr(bs.time, "sleep", lambda seconds: None)
    api = cluster(cluster_objects(token=""))
    code, result = run_module(backend_secret, dict(ARGS, token_timeout=0), api)
    assert code == 1
    assert result["msg"].startswith("Secret rhdh/backstage-backend-auth-secret needs a service account token: "
                                    "Secret orchestrator/orchestrator-token: it has no data.token yet")
    assert api.writes() == []


def test_invalid_options_fail_before_connecting(run_module):
    code, result = run_module(backend_secret, dict(ARGS, backend_secret_bytes=16, keys={"github_token": "A B"},
                                                   cluster_token_secret={"name": "x"}))
    assert code == 1
    for part in ("backend_secret_bytes must be at least 32, got 16", "keys: github_token must be a Secret key name",
                 "cluster_token_secret: namespace is required with a name"):
        assert part in result["msg"]


def test_unknown_logical_key_is_rejected(run_module):
    code, result = run_module(backend_secret, dict(ARGS, keys={"nope": "X"}))
    assert code == 1 and "nope" in result["msg"]


def test_whole_result_holds_no_value(run_module):
    backend = "caller-chosen-backend-secret-value"
    args = dict(ARGS, backend_secret=backend,
                email={"enabled": True, "hostname": "smtp.example.test", "username": "mailer-user",
                       "password": "smtp-password-value"})
    api = cluster(cluster_objects())
    code, result = run_module(backend_secret, args, api, diff=True)
    assert code == 0, result
    assert values(api)["BACKEND_SECRET"] == backend
    text = json.dumps(result) + run_module.out
    assert_no_value(text, [backend, SA_TOKEN, ARGO_PASSWORD, ARGS["github_token"], ARGS["github_client_secret"],
                           "smtp-password-value"])
