"""The gitops component through playbooks/site.yml and playbooks/cleanup.yml against the test cluster.

Tekton without the cluster token is skipped with a message; the operators are installed when asked; a -vvv run
with both Secrets given shows none of their values; the rendered Tasks, Pipeline and AppProject validate
against the upstream CRD schemas.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import yaml

from tests.cluster.config import CRDS_ENV, default_crds_dir
from tests.cluster.validation import validate_custom
from tests.helpers import REPO_ROOT, play_recap, run_playbook

SITE = REPO_ROOT / "playbooks" / "site.yml"
CLEANUP = REPO_ROOT / "playbooks" / "cleanup.yml"
ARGO_NS = "orchestrator-gitops"
WORKFLOW_NS = "sonataflow-infra"
RHDH_NS = "rhdh-operator"
FAST = {"__gitops_poll_delay": 0.2, "__cleanup_poll_delay": 0.2}
GITOPS = {**FAST, "orchestrator_components": ["gitops"], "orchestrator_gitops_enabled": True,
          "orchestrator_tekton_enabled": True, "orchestrator_rhdh_namespace": RHDH_NS}
TASKS = ["build-gitops", "build-manifests", "flattener", "git-cli"]
TOKEN_MESSAGE = ("holds no K8S_CLUSTER_TOKEN key (the cluster token), so the Tekton Tasks and the Pipeline "
                 "workflow-deployment are not created")
ARGO_LABEL = "rhdh.redhat.com/argocd-namespace"
MANAGED_BY = "argocd.argoproj.io/managed-by"


def site(cluster, extra, *args, check=False):
    proc = run_playbook(cluster, SITE, extra, check=check, args=args, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-8000:]
    return output, play_recap(proc.stdout)


def flat(text):
    return " ".join(text.split())


def names(store, api_version, kind, namespace):
    return sorted(o["metadata"]["name"] for o in store.list(api_version, kind, namespace))


def namespace(cluster, name):
    cluster.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, manager="user")


def backend_secret(cluster, token=True):
    namespace(cluster, RHDH_NS)
    data = {"BACKEND_SECRET": "user-backend-secret"}
    if token:
        data["K8S_CLUSTER_TOKEN"] = "user-cluster-token"
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "backstage-backend-auth-secret", "namespace": RHDH_NS},
              "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}
    cluster.store.create(secret, manager="user")


def labels(cluster, name):
    return cluster.store.get("v1", "Namespace", name)["metadata"].get("labels") or {}


def test_tekton_is_skipped_with_a_message_until_the_cluster_token_is_there(cluster_factory):
    cluster = cluster_factory(gitops=True)
    namespace(cluster, WORKFLOW_NS)
    backend_secret(cluster, token=False)
    output, recap = site(cluster, GITOPS)
    assert TOKEN_MESSAGE in flat(output)
    store = cluster.store
    assert names(store, "tekton.dev/v1", "Task", ARGO_NS) == []
    assert names(store, "tekton.dev/v1", "Pipeline", ARGO_NS) == []
    assert names(store, "argoproj.io/v1alpha1", "AppProject", ARGO_NS) == ["orchestrator-gitops"]
    assert labels(cluster, ARGO_NS)[ARGO_LABEL] == ""
    assert labels(cluster, WORKFLOW_NS)[MANAGED_BY] == ARGO_NS
    # the token arrives: the Tasks and the Pipeline are made, then nothing changes
    store.patch("v1", "Secret", "backstage-backend-auth-secret", RHDH_NS,
                {"stringData": {"K8S_CLUSTER_TOKEN": "user-cluster-token"}}, patch_type="merge", manager="user")
    output, recap = site(cluster, GITOPS)
    assert TOKEN_MESSAGE not in flat(output)
    assert names(store, "tekton.dev/v1", "Task", ARGO_NS) == TASKS
    assert names(store, "tekton.dev/v1", "Pipeline", ARGO_NS) == ["workflow-deployment"]
    output, recap = site(cluster, GITOPS)
    assert recap["changed"] == 0, output[-6000:]

    # cleanup: our objects go, the labels the collection added come off, the user's namespaces and ArgoCD stay
    proc = run_playbook(cluster, CLEANUP, {**FAST, "cleanup_components": ["gitops"]}, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert names(store, "tekton.dev/v1", "Task", ARGO_NS) == []
    assert names(store, "argoproj.io/v1alpha1", "AppProject", ARGO_NS) == []
    assert ARGO_LABEL not in labels(cluster, ARGO_NS)
    assert MANAGED_BY not in labels(cluster, WORKFLOW_NS)
    assert store.try_get("argoproj.io/v1beta1", "ArgoCD", "argocd", ARGO_NS) is not None
    assert store.try_get("v1", "Secret", "backstage-backend-auth-secret", RHDH_NS) is not None


def test_a_label_the_user_had_stays_after_the_cleanup(cluster_factory):
    cluster = cluster_factory(gitops=True)
    cluster.store.create({"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": WORKFLOW_NS, "labels": {MANAGED_BY: ARGO_NS}}}, manager="user")
    site(cluster, {**GITOPS, "orchestrator_tekton_enabled": False})
    proc = run_playbook(cluster, CLEANUP, {**FAST, "cleanup_components": ["gitops"]}, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert labels(cluster, WORKFLOW_NS)[MANAGED_BY] == ARGO_NS
    assert ARGO_LABEL not in labels(cluster, ARGO_NS)


def test_the_operators_and_the_argocd_instance_are_installed_when_asked_and_removed_by_the_cleanup(cluster_factory):
    cluster = cluster_factory()  # no GitOps, no Tekton, no ArgoCD
    store = cluster.store
    backend_secret(cluster)
    extra = {**GITOPS, "gitops_install_operators": True}
    output, recap = site(cluster, extra)
    subs = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in
            store.list("operators.coreos.com/v1alpha1", "Subscription")}
    assert subs == {("openshift-gitops-operator", "openshift-gitops-operator"),
                    ("openshift-operators", "openshift-pipelines-operator-rh")}
    argocd = store.get("argoproj.io/v1beta1", "ArgoCD", "argocd", ARGO_NS)
    exclusions = yaml.safe_load(argocd["spec"]["resourceExclusions"])
    assert exclusions == [{"apiGroups": ["tekton.dev"], "clusters": ["*"], "kinds": ["TaskRun", "PipelineRun"]}]
    assert argocd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "parodos.orchestrator"
    # what the GitOps operator made of it, and what the Pipelines operator brings
    assert store.try_get("route.openshift.io/v1", "Route", "argocd-server", ARGO_NS) is not None
    assert store.try_get("v1", "Secret", "argocd-cluster", ARGO_NS) is not None
    assert store.try_get("tekton.dev/v1", "Task", "buildah", "openshift-pipelines") is not None
    assert names(store, "tekton.dev/v1", "Task", ARGO_NS) == TASKS
    # the namespace was made by the collection, with its label
    assert labels(cluster, ARGO_NS)[ARGO_LABEL] == ""
    assert labels(cluster, ARGO_NS)["app.kubernetes.io/component"] == "gitops"
    output, recap = site(cluster, extra)
    assert recap["changed"] == 0, output[-6000:]

    proc = run_playbook(cluster, CLEANUP, {**FAST, "cleanup_components": ["gitops"]}, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert store.list("operators.coreos.com/v1alpha1", "Subscription") == []
    assert store.try_get("argoproj.io/v1beta1", "ArgoCD", "argocd", ARGO_NS) is None
    assert store.try_get("v1", "Namespace", ARGO_NS) is None
    assert store.try_get("v1", "Namespace", "openshift-gitops-operator") is None
    # the global OperatorGroup of openshift-operators was there before: kept
    assert store.try_get("operators.coreos.com/v1", "OperatorGroup", "global-operators", "openshift-operators")


def test_the_secrets_are_written_and_no_value_shows_in_a_verbose_run(cluster_factory, tmp_path):
    cluster = cluster_factory(gitops=True)
    backend_secret(cluster)
    quay = {"auths": {"quay.io": {"auth": base64.b64encode(b"myorg+robot:QUAYROBOTTOKEN42").decode()}}}
    redhat = {"auths": {"registry.redhat.io": {"auth": base64.b64encode(b"1234|sa:REDHATSATOKEN42").decode()}}}
    (tmp_path / "quay.json").write_text(json.dumps(quay))
    (tmp_path / "redhat.json").write_text(json.dumps(redhat))
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nU1NIUFJJVkFURUtFWUJPRFk0Mg==\n-----END OPENSSH PRIVATE KEY-----\n"
    known_hosts = "github.com ssh-ed25519 KNOWNHOSTSKEY42\n"
    (tmp_path / "id_rsa").write_text(key)
    extra = {**GITOPS, "gitops_docker_config_files": [str(tmp_path / "quay.json"), str(tmp_path / "redhat.json")],
             "gitops_git_ssh_key_file": str(tmp_path / "id_rsa"), "gitops_git_ssh_known_hosts": known_hosts}
    check_output, dummy = site(cluster, extra, "-vvv", "--diff", check=True)
    assert cluster.store.try_get("v1", "Secret", "docker-credentials", ARGO_NS) is None
    output, dummy = site(cluster, extra, "-vvv", "--diff")
    docker = cluster.store.get("v1", "Secret", "docker-credentials", ARGO_NS)
    ssh = cluster.store.get("v1", "Secret", "git-ssh-credentials", ARGO_NS)
    merged = docker["data"][".dockerconfigjson"]
    assert docker["type"] == "kubernetes.io/dockerconfigjson"
    assert json.loads(base64.b64decode(merged)) == {"auths": {**quay["auths"], **redhat["auths"]}}
    assert base64.b64decode(ssh["data"]["id_rsa"]).decode() == key
    assert base64.b64decode(ssh["data"]["known_hosts"]).decode() == known_hosts
    assert sorted(ssh["data"]) == ["config", "id_rsa", "known_hosts"]
    values = ["QUAYROBOTTOKEN42", "REDHATSATOKEN42", "U1NIUFJJVkFURUtFWUJPRFk0Mg", "KNOWNHOSTSKEY42",
              quay["auths"]["quay.io"]["auth"], redhat["auths"]["registry.redhat.io"]["auth"], merged[:40],
              ssh["data"]["id_rsa"][:40], ssh["data"]["known_hosts"][:24], ssh["data"]["config"][:24]]
    for text in (check_output, output):
        assert "<<< caused by >>>" not in text
        shown = [value for value in values if value in text]
        assert shown == [], shown
    # the run did report what it wrote, by name
    assert "Secret/orchestrator-gitops/docker-credentials" in output
    assert "quay.io" in output and "registry.redhat.io" in output


def crd_version(name, version):
    folder = default_crds_dir()
    assert folder is not None, "no CRD folder: set %s or put the CRDs in %s" % (
        CRDS_ENV, REPO_ROOT.parent / "shared" / "crds")
    path = Path(folder) / name
    assert path.is_file(), path
    crd = yaml.safe_load(path.read_text())
    return next(v for v in crd["spec"]["versions"] if v["name"] == version)


CRDS = {("tekton.dev/v1", "Task"): ("tekton.dev_tasks.yaml", "v1"),
        ("tekton.dev/v1", "Pipeline"): ("tekton.dev_pipelines.yaml", "v1"),
        ("argoproj.io/v1alpha1", "AppProject"): ("argoproj.io_appprojects.yaml", "v1alpha1")}


def render(cluster, tmp_path, **settings):
    """The objects of templates/gitops.yml.j2 as the role renders them."""
    out = tmp_path / "rendered.yml"
    play = [{"name": "render", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"ansible.builtin.include_role": {"name": "parodos.orchestrator.gitops", "tasks_from": "validate",
                                          "public": True}},
        {"ansible.builtin.copy": {"dest": str(out), "mode": "0600", "content": "{{ lookup('ansible.builtin.template', '"
                                  + str(REPO_ROOT / "roles" / "gitops" / "templates" / "gitops.yml.j2") + "') }}"},
         "vars": {"__gitops_with_tekton": True}}]}]
    proc = run_playbook(cluster, play, {"orchestrator_gitops_enabled": True, "orchestrator_tekton_enabled": True,
                                        **settings})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return [doc for doc in yaml.safe_load_all(out.read_text()) if doc]


@pytest.mark.parametrize("settings", [{}, {"gitops_buildah_cluster_task": True, "gitops_image_organization": "myorg",
                                           "gitops_install_operators": True}], ids=["resolver", "cluster-task"])
def test_the_rendered_objects_validate_against_the_crd_schemas(cluster, tmp_path, settings):
    objects = render(cluster, tmp_path, **settings)
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in objects if (o["apiVersion"], o["kind"]) in CRDS)
    assert kinds == [("AppProject", "orchestrator-gitops"), ("Pipeline", "workflow-deployment")] + [
        ("Task", name) for name in TASKS]
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) not in CRDS:
            assert obj["kind"] == "ArgoCD" and settings.get("gitops_install_operators")
            continue
        result = validate_custom(obj, crd_version(*CRDS[(obj["apiVersion"], obj["kind"])]))
        assert [e.message for e in result.errors] == [], obj["metadata"]["name"]
        # nothing the schema does not know, which the API server would drop without a word
        assert result.unknown_fields == [], (obj["metadata"]["name"], result.unknown_fields)
    pipeline = next(o for o in objects if o["kind"] == "Pipeline")
    build = next(t for t in pipeline["spec"]["tasks"] if t["name"] == "build-and-push-image")
    if settings:
        assert build["taskRef"] == {"name": "buildah", "kind": "ClusterTask"}
        assert next(p for p in pipeline["spec"]["params"] if p["name"] == "quayOrgName")["default"] == "myorg"
    else:
        assert build["taskRef"]["resolver"] == "cluster"


def test_the_crd_folder_can_be_given(monkeypatch, tmp_path):
    monkeypatch.setenv(CRDS_ENV, str(tmp_path))
    assert default_crds_dir() == tmp_path
    monkeypatch.setenv(CRDS_ENV, os.fspath(tmp_path / "missing"))
    assert default_crds_dir() is None


def test_the_argocd_keys_reach_the_backend_secret_in_the_run_that_makes_the_instance(cluster_factory):
    cluster = cluster_factory()  # no GitOps operator and no ArgoCD instance yet
    store = cluster.store
    extra = {**GITOPS, "__rhdh_poll_delay": 0.2, "orchestrator_components": ["rhdh", "gitops"],
             "gitops_install_operators": True}
    output, recap = site(cluster, extra, "-vvv")
    assert "Wait until the ArgoCD instance is available" in output
    secret = store.get("v1", "Secret", "backstage-backend-auth-secret", RHDH_NS)
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    route = store.get("route.openshift.io/v1", "Route", "argocd-server", ARGO_NS)
    admin = store.get("v1", "Secret", "argocd-cluster", ARGO_NS)
    assert data["ARGOCD_URL"] == "https://" + route["spec"]["host"]
    assert data["ARGOCD_PASSWORD"] == base64.b64decode(admin["data"]["admin.password"]).decode()
    for key in ("ARGOCD_PASSWORD", "BACKEND_SECRET", "K8S_CLUSTER_TOKEN"):
        assert data[key] not in output and secret["data"][key] not in output, key
    # the cluster token came with the same run, so the Tekton objects are there too
    assert names(store, "tekton.dev/v1", "Task", ARGO_NS) == TASKS
    output, recap = site(cluster, extra)
    assert recap["changed"] == 0, output[-6000:]
