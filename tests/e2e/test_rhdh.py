"""Role rhdh against the local test cluster: secrets stay out of the output, rollouts, check mode, validation.

The whole site.yml runs once (with GitOps, -vvv); the other cases run the role
alone, with the facts the other roles would publish given as variables.
"""

from __future__ import annotations

import base64

import yaml

from tests.helpers import REPO_ROOT, play_recap, run_playbook, writes

SITE = REPO_ROOT / "playbooks" / "site.yml"
FAST = {"__serverless_poll_delay": 0.2, "__serverless_logic_poll_delay": 0.2, "__postgresql_poll_delay": 1,
        "__rhdh_poll_delay": 0.2}
NS = "rhdh-operator"
RHDH = "rhdh.redhat.com/v1alpha1"
ROLE_ONLY = [{"hosts": "localhost", "gather_facts": False,
              "roles": [{"role": "parodos.orchestrator.rhdh"}]}]
# What prerequisites and serverless_logic would have published.
FACTS = {"orchestrator_cluster_domain": "apps.orchestrator.test",
         "orchestrator_data_index_url": "http://sonataflow-platform-data-index-service.sonataflow-infra"}
GITHUB = {"rhdh_github_token": "ghp-token-Zq81kd92jdla", "rhdh_github_client_id": "client-id-Lp02",
          "rhdh_github_client_secret": "client-secret-Xw93mdq0"}


def secret_data(store, name, ns):
    return {k: base64.b64decode(v).decode() for k, v in (store.get("v1", "Secret", name, ns).get("data") or {}).items()}


def config_file(store, name, key):
    return yaml.safe_load(store.get("v1", "ConfigMap", name, NS)["data"][key])


def deployment(store):
    dep = store.get("apps/v1", "Deployment", "backstage-backstage", NS)
    return dep["metadata"]["generation"], dep["spec"]["template"]["metadata"].get("annotations", {}).get(
        "rhdh.redhat.com/ext-config-hash")


def test_site_with_gitops_keeps_every_secret_out_of_the_output(cluster_factory):
    cluster = cluster_factory(gitops=True)
    extra = {**FAST, **GITHUB, "orchestrator_gitops_enabled": True}
    proc = run_playbook(cluster, SITE, extra, args=("-vvv",), timeout=400)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    store = cluster.store

    data = secret_data(store, "backstage-backend-auth-secret", NS)
    assert sorted(data) == sorted(["BACKEND_SECRET", "K8S_CLUSTER_URL", "K8S_CLUSTER_TOKEN", "GITHUB_TOKEN",
                                   "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "ARGOCD_URL", "ARGOCD_USERNAME",
                                   "ARGOCD_PASSWORD"])
    token = secret_data(store, "orchestrator-token", "orchestrator")["token"]
    assert data["K8S_CLUSTER_TOKEN"] == token
    assert data["ARGOCD_PASSWORD"] == "argocd-admin-password"
    secrets = (data["BACKEND_SECRET"], token, data["ARGOCD_PASSWORD"], GITHUB["rhdh_github_token"],
               GITHUB["rhdh_github_client_secret"])
    # a second run reads back what the first one wrote: nothing of it may show either, nor its base64 form
    again = run_playbook(cluster, SITE, extra, args=("-vvv",), timeout=400)
    assert again.returncode == 0, (again.stdout + again.stderr)[-6000:]
    for output in (out, again.stdout + again.stderr):
        for value in secrets:
            assert value not in output
            assert base64.b64encode(value.encode()).decode() not in output

    # The configuration follows the keys present: ArgoCD, GitHub sign-in, the Kubernetes and ArgoCD plugins.
    app = config_file(store, "app-config-rhdh", "app-config-rhdh.yaml")
    url = "https://backstage-backstage-rhdh-operator.apps.orchestrator.test"
    assert app["app"] == {"title": "Red Hat Developer Hub", "baseUrl": url}
    assert app["backend"]["baseUrl"] == url and app["backend"]["cors"]["origin"] == url
    assert app["backend"]["auth"]["externalAccess"] == [
        {"type": "static", "options": {"token": "${BACKEND_SECRET}", "subject": "orchestrator"}}]
    assert app["argocd"]["appLocatorMethods"][0]["instances"][0]["password"] == "${ARGOCD_PASSWORD}"
    auth = config_file(store, "app-config-rhdh-auth", "app-config-auth.gh.yaml")
    assert auth["integrations"]["github"] == [{"host": "github.com", "token": "${GITHUB_TOKEN}"}]
    assert auth["auth"]["providers"]["github"]["development"] == {
        "clientId": "${GITHUB_CLIENT_ID}", "clientSecret": "${GITHUB_CLIENT_SECRET}"}
    plugins = config_file(store, "dynamic-plugins-rhdh", "dynamic-plugins.yaml")
    packages = [p["package"] for p in plugins["plugins"]]
    assert "./dynamic-plugins/dist/backstage-community-plugin-redhat-argocd" in packages
    assert "./dynamic-plugins/dist/backstage-plugin-kubernetes-backend-dynamic" in packages
    backend = next(p for p in plugins["plugins"]
                   if p["package"] == "@redhat/backstage-plugin-orchestrator-backend-dynamic@1.3.0")
    assert backend["pluginConfig"]["orchestrator"]["dataIndexService"]["url"] == FACTS["orchestrator_data_index_url"]
    backstage = store.get(RHDH, "Backstage", "backstage", NS)
    assert next(c for c in backstage["status"]["conditions"] if c["type"] == "Deployed")["status"] == "True"
    binding = store.get("rbac.authorization.k8s.io/v1", "ClusterRoleBinding",
                        "rhdh-orchestrator-orchestrator-rhdh-reader", None)
    assert binding["roleRef"]["name"] == "orchestrator-rhdh-reader"
    rules = store.get("rbac.authorization.k8s.io/v1", "ClusterRole", "orchestrator-rhdh-reader", None)["rules"]
    assert all(set(r["verbs"]) == {"get", "list", "watch"} for r in rules)
    assert not any("secrets" in r["resources"] for r in rules)


def test_changed_app_config_rolls_backstage_once_and_no_change_none(cluster):
    proc = run_playbook(cluster, ROLE_ONLY, {**FAST, **FACTS})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    first = deployment(cluster.store)
    backend_secret = secret_data(cluster.store, "backstage-backend-auth-secret", NS)["BACKEND_SECRET"]
    assert len(base64.urlsafe_b64decode(backend_secret + "==")) >= 32

    cluster.requests.reset()
    proc = run_playbook(cluster, ROLE_ONLY, {**FAST, **FACTS})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert play_recap(proc.stdout)["changed"] == 0, proc.stdout[-6000:]
    assert writes(cluster) == []
    assert deployment(cluster.store) == first

    proc = run_playbook(cluster, ROLE_ONLY, {**FAST, **FACTS, "rhdh_app_title": "Orchestrator Hub"})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert play_recap(proc.stdout)["changed"] == 1, proc.stdout[-6000:]
    generation, config_hash = deployment(cluster.store)
    assert generation == first[0] + 1 and config_hash != first[1]
    assert config_file(cluster.store, "app-config-rhdh", "app-config-rhdh.yaml")["app"]["title"] == "Orchestrator Hub"
    # The backend secret was generated once and kept.
    assert secret_data(cluster.store, "backstage-backend-auth-secret", NS)["BACKEND_SECRET"] == backend_secret


def test_foreign_config_map_is_reused_and_missing_argocd_only_warns(cluster):
    cluster.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}, manager="test")
    mine = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config-rhdh-catalog", "namespace": NS},
            "data": {"app-config-catalog.yaml": "catalog: {}\n"}}
    cluster.store.create(mine, manager="test")
    proc = run_playbook(cluster, ROLE_ONLY, {**FAST, **FACTS, "orchestrator_gitops_enabled": True})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    # No ArgoCD on this cluster: a warning, not a failure, and no ArgoCD key (warnings go to stderr).
    assert "ArgoCD instance argocd in namespace orchestrator-gitops not found" in " ".join(
        (proc.stdout + proc.stderr).split())
    assert "ARGOCD_URL" not in secret_data(cluster.store, "backstage-backend-auth-secret", NS)
    # the apply warns about it (warnings go to stderr)
    assert ("ConfigMap/rhdh-operator/app-config-rhdh-catalog exists without the collection's mark"
            in " ".join((proc.stdout + proc.stderr).split()))
    kept = cluster.store.get("v1", "ConfigMap", "app-config-rhdh-catalog", NS)
    assert kept["data"] == mine["data"]
    assert "app.kubernetes.io/managed-by" not in (kept["metadata"].get("labels") or {})


def test_check_mode_on_an_empty_cluster_writes_nothing(cluster):
    proc = run_playbook(cluster, ROLE_ONLY, {**FAST, **FACTS}, check=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert writes(cluster) == []
    assert cluster.store.try_get("v1", "Namespace", NS) is None
    for ref in ("Subscription/rhdh-operator/rhdh", "Namespace/orchestrator", "ServiceAccount/orchestrator/orchestrator",
                "ClusterRole/orchestrator-rhdh-reader", "ConfigMap/rhdh-operator/app-config-rhdh",
                "Backstage/rhdh-operator/backstage", "ConfigMap/rhdh-operator/dynamic-plugins-rhdh"):
        assert ref in out, ref


def test_validation_names_each_bad_setting_before_any_write(cluster):
    proc = run_playbook(cluster, ROLE_ONLY, {**FAST, "orchestrator_data_index_url": "http://x",
                                             "rhdh_github_client_id": "id-only", "rhdh_email_enabled": True,
                                             "rhdh_email_hostname": "smtp.example.com",
                                             "rhdh_secret_keys": {"nope": "X"}})
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "rhdh_github_client_id and rhdh_github_client_secret go together" in out
    assert "rhdh_email_enabled needs rhdh_email_sender" in out
    assert "rhdh_secret_keys has unknown logical keys: nope" in out
    assert writes(cluster) == []
    # Good settings, but the domain the prerequisites role reads is not known: stopped before the Subscription.
    proc = run_playbook(cluster, ROLE_ONLY, FAST)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "orchestrator_cluster_domain is not known" in out
    assert writes(cluster, dry_run=None) == []
