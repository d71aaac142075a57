"""backend_secret against the local test cluster: token, ArgoCD, check mode, no write on a re-run, no value shown."""

from __future__ import annotations

import base64

from tests.helpers import play_recap, run_module, writes

NAME = "backstage-backend-auth-secret"
NAMESPACE = "rhdh"
GITHUB = {"github_token": "ghp_e2eGithubTokenValue0123456789", "github_client_id": "Iv1.e2eclientid",
          "github_client_secret": "e2e-github-client-secret-value"}
MANAGER = "parodos.orchestrator"


def seed(cluster, token_secret=True):
    """Namespace of the Secret; namespace, ServiceAccount and token Secret of the Kubernetes plugins."""
    store = cluster.store
    for ns in (NAMESPACE, "orchestrator"):
        store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, manager="test")
    store.create({"apiVersion": "v1", "kind": "ServiceAccount",
                  "metadata": {"name": "orchestrator", "namespace": "orchestrator"}}, manager="test")
    if token_secret:
        store.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                      "metadata": {"name": "orchestrator-token", "namespace": "orchestrator",
                                   "annotations": {"kubernetes.io/service-account.name": "orchestrator"}}},
                     manager="test")


def run(cluster, tmp_path, check=False, **options):
    """The module with the GitHub values from extra vars."""
    args = {"namespace": NAMESPACE,
            "cluster_token_secret": {"namespace": "orchestrator", "name": "orchestrator-token"},
            "github_token": "{{ github_token }}", "github_client_id": "{{ github_client_id }}",
            "github_client_secret": "{{ github_client_secret }}", **options}
    return run_module(cluster, tmp_path, "backend_secret", args, check=check, diff=True, verbose=True,
                      extra_vars=GITHUB)


def stored(cluster, name=NAME, namespace=NAMESPACE):
    obj = cluster.store.try_get("v1", "Secret", name, namespace)
    if obj is None:
        return None
    return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


def assert_hidden(output, values):
    for value in values:
        assert value not in output, "a secret value is in the output"
        assert base64.b64encode(value.encode()).decode() not in output, "an encoded secret value is in the output"


def test_token_secret_then_nothing_to_do(cluster, tmp_path):
    seed(cluster)  # the token controller fills the token while the module waits for it
    output, result = run(cluster, tmp_path)
    assert result["changed"] is True, output
    keys = ["BACKEND_SECRET", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "GITHUB_TOKEN", "K8S_CLUSTER_TOKEN",
            "K8S_CLUSTER_URL"]
    assert result["keys"] == keys and result["added"] == keys
    assert result["generated"] == ["BACKEND_SECRET"]
    data = stored(cluster)
    token = stored(cluster, "orchestrator-token", "orchestrator")["token"]
    assert data["K8S_CLUSTER_TOKEN"] == token
    assert data["K8S_CLUSTER_URL"] == cluster.url
    assert data["GITHUB_TOKEN"] == GITHUB["github_token"]
    assert len(base64.urlsafe_b64decode(data["BACKEND_SECRET"] + "==")) >= 32
    secret = cluster.store.get("v1", "Secret", NAME, NAMESPACE)
    assert secret["metadata"]["labels"] == {"app.kubernetes.io/managed-by": MANAGER,
                                            "app.kubernetes.io/part-of": "orchestrator"}
    assert [(e.status, "fieldManager=" + MANAGER in e.query) for e in cluster.requests.find("POST", "/secrets")] \
        == [(201, True)]
    assert "<hidden, changed>" in output
    assert_hidden(output, [data["BACKEND_SECRET"], token, GITHUB["github_token"], GITHUB["github_client_secret"]])

    cluster.requests.reset()
    output, result = run(cluster, tmp_path)
    assert result["changed"] is False
    assert play_recap(output)["changed"] == 0
    assert result["keys"] == keys and result["added"] == result["updated"] == result["removed"] == []
    assert writes(cluster, dry_run=None, reviews=True) == []
    assert stored(cluster) == data
    assert_hidden(output, [data["BACKEND_SECRET"], token, GITHUB["github_token"], GITHUB["github_client_secret"]])


def test_argocd_found_with_the_gitops_profile_kept_when_disabled_and_removed_when_asked(cluster_factory, tmp_path):
    cluster = cluster_factory(gitops=True)
    seed(cluster)
    argocd = {"enabled": True, "namespace": "orchestrator-gitops", "instance": "argocd"}
    output, result = run(cluster, tmp_path, argocd=argocd)
    assert {"ARGOCD_URL", "ARGOCD_USERNAME", "ARGOCD_PASSWORD"} <= set(result["keys"])
    data = stored(cluster)
    assert data["ARGOCD_URL"] == "https://argocd-server-orchestrator-gitops." + cluster.config.cluster_domain
    assert data["ARGOCD_USERNAME"] == "admin"
    password = stored(cluster, "argocd-cluster", "orchestrator-gitops")["admin.password"]
    assert data["ARGOCD_PASSWORD"] == password
    assert_hidden(output, [password, data["BACKEND_SECRET"], data["K8S_CLUSTER_TOKEN"]])

    # disabled: the keys stay until a run removes them
    output, result = run(cluster, tmp_path, argocd={"enabled": False}, cluster_token_secret={"name": ""})
    assert result["changed"] is False and result["removed"] == [], output
    assert stored(cluster) == data

    cluster.requests.reset()
    output, result = run(cluster, tmp_path, argocd={"enabled": False}, cluster_token_secret={"name": ""},
                         remove_keys=["argocd_url", "argocd_username", "argocd_password", "cluster_url",
                                      "cluster_token"])
    assert result["removed"] == ["ARGOCD_PASSWORD", "ARGOCD_URL", "ARGOCD_USERNAME", "K8S_CLUSTER_TOKEN",
                                 "K8S_CLUSTER_URL"]
    assert sorted(stored(cluster)) == ["BACKEND_SECRET", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "GITHUB_TOKEN"]
    assert stored(cluster)["BACKEND_SECRET"] == data["BACKEND_SECRET"]
    patches = cluster.requests.find("PATCH", "/secrets/" + NAME)
    assert [(e.content_type, e.status) for e in patches] == [("application/merge-patch+json", 200)]


def test_missing_argocd_is_a_warning(cluster, tmp_path):
    seed(cluster, token_secret=False)
    output, result = run(cluster, tmp_path, cluster_token_secret={"name": ""},
                         argocd={"enabled": True, "namespace": "orchestrator-gitops"})
    assert result["changed"] is True and not result.get("failed")
    assert not any(key.startswith("ARGOCD") for key in result["keys"])
    assert "ArgoCD instance argocd in namespace orchestrator-gitops not found" in output


def test_check_mode_writes_nothing(cluster, tmp_path):
    seed(cluster)
    output, result = run(cluster, tmp_path, check=True)
    assert result["changed"] is True
    assert "BACKEND_SECRET" in result["keys"]
    assert stored(cluster) is None
    assert writes(cluster, reviews=True) == []
    assert writes(cluster, dry_run=True, reviews=True) == [("POST", "/api/v1/namespaces/%s/secrets" % NAMESPACE)]
    assert "<hidden, changed>" in output


def test_foreign_secret_is_reused_then_adopted(cluster, tmp_path):
    seed(cluster, token_secret=False)
    theirs = "their-own-backend-secret-value"
    cluster.store.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                          "metadata": {"name": NAME, "namespace": NAMESPACE},
                          "data": {"BACKEND_SECRET": base64.b64encode(theirs.encode()).decode()}}, manager="test")
    output, result = run(cluster, tmp_path, cluster_token_secret={"name": ""})
    assert result["changed"] is False and result["reused"] is True
    assert result["keys"] == ["BACKEND_SECRET"]
    assert writes(cluster, dry_run=None, reviews=True) == []
    assert "left as it is" in output and "GITHUB_TOKEN" in output
    assert_hidden(output, [theirs])

    output, result = run(cluster, tmp_path, cluster_token_secret={"name": ""}, adopt=True)
    assert result["changed"] is True and result["adopted"] is True
    data = stored(cluster)
    assert data["BACKEND_SECRET"] == theirs and data["GITHUB_TOKEN"] == GITHUB["github_token"]
    labels = cluster.store.get("v1", "Secret", NAME, NAMESPACE)["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == MANAGER
    assert_hidden(output, [theirs, GITHUB["github_token"]])


def test_token_that_never_comes_fails_clearly(cluster, tmp_path):
    seed(cluster, token_secret=False)
    output, result = run(cluster, tmp_path, token_timeout=0)
    assert result["failed"] is True
    assert result["msg"] == ("Secret rhdh/backstage-backend-auth-secret needs a service account token: "
                             "Secret orchestrator/orchestrator-token: it does not exist after 0 s")
    assert stored(cluster) is None
    assert "Traceback" not in output


def test_secret_with_only_the_managed_by_label_is_ours(cluster, tmp_path):
    """A backend Secret made with generated_secret (the managed-by label only) is updated, not reused."""
    seed(cluster, token_secret=False)
    output, result = run_module(cluster, tmp_path, "generated_secret", {
        "name": NAME, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": MANAGER},
        "generate": [{"key": "BACKEND_SECRET", "length": 48}]})
    assert result["changed"] is True, output
    first = stored(cluster)["BACKEND_SECRET"]
    assert cluster.store.get("v1", "Secret", NAME, NAMESPACE)["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": MANAGER}

    output, result = run(cluster, tmp_path, cluster_token_secret={"name": ""})
    assert result["changed"] is True and result["reused"] is False and result["adopted"] is False, output
    assert "left as it is" not in output
    assert result["added"] == ["GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "GITHUB_TOKEN"]
    data = stored(cluster)
    assert data["BACKEND_SECRET"] == first and data["GITHUB_TOKEN"] == GITHUB["github_token"]
    assert cluster.store.get("v1", "Secret", NAME, NAMESPACE)["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": MANAGER, "app.kubernetes.io/part-of": "orchestrator"}
    assert_hidden(output, [first, GITHUB["github_token"], GITHUB["github_client_secret"]])


def test_a_run_without_the_github_values_keeps_them_and_remove_keys_removes_them(cluster, tmp_path):
    seed(cluster)
    output, result = run(cluster, tmp_path)
    assert result["changed"] is True, output
    data = stored(cluster)
    secrets = [data["BACKEND_SECRET"], data["K8S_CLUSTER_TOKEN"], GITHUB["github_token"],
               GITHUB["github_client_secret"]]

    # the vault with the GitHub values is not loaded: the variables are empty
    cluster.requests.reset()
    args = {"namespace": NAMESPACE, "cluster_token_secret": {"namespace": "orchestrator", "name": "orchestrator-token"},
            "github_token": "{{ github_token | default('') }}",
            "github_client_id": "{{ github_client_id | default('') }}",
            "github_client_secret": "{{ github_client_secret | default('') }}"}
    output, result = run_module(cluster, tmp_path, "backend_secret", args, diff=True, verbose=True)
    assert result["changed"] is False and result["removed"] == [], output
    assert play_recap(output)["changed"] == 0
    assert stored(cluster) == data and stored(cluster)["GITHUB_TOKEN"] == GITHUB["github_token"]
    assert writes(cluster, dry_run=None) == []
    assert_hidden(output, secrets)

    # removing is explicit; check mode first, then for real
    args["remove_keys"] = ["github_token", "github_client_id", "github_client_secret"]
    output, result = run_module(cluster, tmp_path, "backend_secret", args, check=True, diff=True, verbose=True)
    assert result["changed"] is True and result["removed"] == ["GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET",
                                                               "GITHUB_TOKEN"], output
    assert stored(cluster) == data
    assert writes(cluster) == [] and writes(cluster, dry_run=True) == [
        ("PATCH", "/api/v1/namespaces/%s/secrets/%s" % (NAMESPACE, NAME))]
    assert_hidden(output, secrets)

    output, result = run_module(cluster, tmp_path, "backend_secret", args, diff=True, verbose=True)
    assert result["changed"] is True and result["removed"] == ["GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET",
                                                               "GITHUB_TOKEN"], output
    assert sorted(stored(cluster)) == ["BACKEND_SECRET", "K8S_CLUSTER_TOKEN", "K8S_CLUSTER_URL"]
    assert stored(cluster)["BACKEND_SECRET"] == data["BACKEND_SECRET"]
    annotation = cluster.store.get("v1", "Secret", NAME, NAMESPACE)["metadata"]["annotations"]
    assert "github" not in annotation["parodos.orchestrator/backend-secret-keys"]
    assert_hidden(output, secrets)


def test_remove_keys_with_a_value_in_the_same_run_fails_before_writing(cluster, tmp_path):
    seed(cluster)
    output, result = run(cluster, tmp_path, remove_keys=["github_token"])
    assert result["failed"] is True
    assert "remove_keys: github_token also gets a value in this run" in result["msg"]
    assert writes(cluster, dry_run=None) == [] and stored(cluster) is None
    assert_hidden(output, [GITHUB["github_token"], GITHUB["github_client_secret"]])
