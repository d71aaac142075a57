"""The simulated OpenShift GitOps and OpenShift Pipelines operators (tests/cluster/controllers/gitops.py)."""

from __future__ import annotations

import base64

from tests.test_cluster.test_controllers_manager import Sim

ARGO_API = "argoproj.io/v1beta1"


def argocd(sim, name="argocd", namespace="orchestrator-gitops"):
    sim.namespace(namespace)
    return sim.create({"apiVersion": ARGO_API, "kind": "ArgoCD", "metadata": {"name": name, "namespace": namespace},
                       "spec": {"server": {"route": {"enabled": True}}}})


def test_an_argocd_instance_gets_what_the_user_made_one_has():
    sim = Sim()
    sim.install("openshift-gitops-operator", "openshift-gitops-operator", "latest")
    assert sim.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "appprojects.argoproj.io") is not None
    made = argocd(sim, "team", "team-gitops")
    sim.run(3)
    secret = sim.get("v1", "Secret", "team-cluster", "team-gitops")
    assert base64.b64decode(secret["data"]["admin.password"]) == b"argocd-admin-password"
    route = sim.get("route.openshift.io/v1", "Route", "team-server", "team-gitops")
    assert route["spec"]["host"] == "team-server-team-gitops." + sim.config.cluster_domain
    assert route["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "team"
    assert route["status"]["ingress"][0]["conditions"][0]["status"] == "True"
    assert secret["metadata"]["ownerReferences"][0]["uid"] == made["metadata"]["uid"]
    assert sim.get(ARGO_API, "ArgoCD", "team", "team-gitops")["status"]["phase"] == "Available"
    # the same objects as the instance of the gitops profile
    user = Sim(gitops=True)
    mine = {k: v for k, v in sim.get("v1", "Secret", "team-cluster", "team-gitops").items() if k in ("data", "type")}
    theirs = {k: v for k, v in user.get("v1", "Secret", "argocd-cluster", "orchestrator-gitops").items()
              if k in ("data", "type")}
    assert mine == theirs


def test_nothing_happens_without_the_operator():
    sim = Sim(gitops=True)
    argocd(sim, "second")
    sim.run(3)
    assert sim.get("v1", "Secret", "second-cluster", "orchestrator-gitops") is None


def test_the_pipelines_operator_brings_the_tekton_crds_and_the_buildah_task():
    sim = Sim()
    sim.install("pipelines-operator", "openshift-pipelines-operator-rh", "latest")
    for crd in ("tasks.tekton.dev", "pipelines.tekton.dev"):
        assert sim.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd) is not None
    sim.run(3)
    task = sim.get("tekton.dev/v1", "Task", "buildah", "openshift-pipelines")
    assert {p["name"] for p in task["spec"]["params"]} >= {"IMAGE", "DOCKERFILE", "CONTEXT", "BUILD_EXTRA_ARGS"}
    assert [w["name"] for w in task["spec"]["workspaces"]] == ["source", "dockerconfig"]
