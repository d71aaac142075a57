"""site.yml against the real control plane (kube-apiserver, etcd and kube-controller-manager built by
`make controlplane`), checked with kubectl, a client nobody here wrote."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.cluster.cluster import LocalCluster
from tests.helpers import play_recap, require_controlplane, run_playbook

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.xdist_group("real-controlplane")


@pytest.fixture(scope="module")
def real():
    require_controlplane()
    cluster = LocalCluster(api="real").start()
    try:
        yield cluster
    finally:
        cluster.stop()


def kubectl(cluster, *args, check=True, stdin=None):
    result = subprocess.run(["kubectl", *args], env=cluster.subprocess_env(), capture_output=True, text=True,
                            input=stdin, timeout=120, check=False)
    if check:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


@pytest.fixture(scope="module")
def installed(real):
    first = run_playbook(real, REPO / "playbooks" / "site.yml")
    assert first.returncode == 0, first.stdout[-4000:]
    second = run_playbook(real, REPO / "playbooks" / "site.yml")
    assert second.returncode == 0, second.stdout[-4000:]
    return real, play_recap(first.stdout), play_recap(second.stdout)


def test_kubeconfig_is_tls_with_the_cluster_ca(real):
    doc = yaml.safe_load(Path(real.env["KUBECONFIG"]).read_text())
    cluster = doc["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://")
    assert "insecure-skip-tls-verify" not in cluster
    assert base64.b64decode(cluster["certificate-authority-data"]) == real.controlplane.pki.ca_pem()
    version = json.loads(kubectl(real, "version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == "v1.37.2"


def test_site_converges_then_changes_nothing(installed):
    cluster, first, second = installed
    assert first["failed"] == 0 and first["changed"] > 0
    assert second["failed"] == 0 and second["changed"] == 0
    # the controller manager made ReplicaSets and Pods; the simulated node runs them
    dep = cluster.store.get("apps/v1", "Deployment", "backstage-backstage", "rhdh-operator")
    assert dep["status"]["availableReplicas"] == 1
    assert dep["status"]["observedGeneration"] == dep["metadata"]["generation"]
    pod = cluster.store.get("v1", "Pod", "sonataflow-psql-postgresql-0", "sonataflow-infra")
    assert pod["spec"]["nodeName"] and pod["status"]["phase"] == "Running"
    pvc = cluster.store.get("v1", "PersistentVolumeClaim", "data-sonataflow-psql-postgresql-0", "sonataflow-infra")
    assert pvc["status"]["phase"] == "Bound"


def test_kubectl_verification_commands(installed):
    cluster = installed[0]
    # the seed README's checks
    kubectl(cluster, "wait", "--for=condition=Ready", "pod/backstage-psql-backstage-0", "-n", "rhdh-operator",
            "--timeout=60s")
    out = kubectl(cluster, "get", "sonataflowplatform", "-n", "sonataflow-infra", "-o", "json").stdout
    platforms = json.loads(out)["items"]
    assert [p["metadata"]["name"] for p in platforms] == ["sonataflow-platform"]
    kubectl(cluster, "wait", "--for=condition=Succeed", "sonataflowplatform/sonataflow-platform",
            "-n", "sonataflow-infra", "--timeout=60s")
    assert "knative-serving" in kubectl(cluster, "get", "knativeserving", "-A").stdout
    explained = kubectl(cluster, "explain", "backstages.spec.application").stdout
    assert "appConfig" in explained
    applied = kubectl(cluster, "apply", "--server-side", "--field-manager=check", "-f", "-", stdin=yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-check", "namespace": "default"},
         "data": {"a": "1"}}))
    assert "serverside-applied" in applied.stdout


def test_the_real_server_refuses_what_it_should(real):
    bad = kubectl(real, "create", "configmap", "Bad_Name", check=False)
    assert bad.returncode != 0 and "Invalid value" in bad.stderr
    env = {**real.subprocess_env()}
    doc = yaml.safe_load(Path(real.env["KUBECONFIG"]).read_text())
    doc["users"][0]["user"]["token"] = real.config.readonly_token
    path = real.tmpdir / "readonly.kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    env["KUBECONFIG"] = str(path)
    read = subprocess.run(["kubectl", "get", "namespaces"], env=env, capture_output=True, text=True, check=False)
    assert read.returncode == 0, read.stderr
    write = subprocess.run(["kubectl", "create", "namespace", "readonly-may-not"], env=env, capture_output=True,
                           text=True, check=False)
    assert write.returncode != 0 and "forbidden" in write.stderr
    nobody = {**env}
    doc["users"][0]["user"]["token"] = "not-a-token"
    path.write_text(yaml.safe_dump(doc))
    denied = subprocess.run(["kubectl", "get", "namespaces"], env=nobody, capture_output=True, text=True, check=False)
    assert denied.returncode != 0
    assert "must be logged in" in denied.stderr or "Unauthorized" in denied.stderr


def as_service_account(cluster, namespace, secret):
    """A kubeconfig with the token the token controller put into a service-account token Secret."""
    token = base64.b64decode(cluster.store.get("v1", "Secret", secret, namespace)["data"]["token"]).decode()
    path = cluster.tmpdir / f"{namespace}-{secret}.kubeconfig"
    doc = yaml.safe_load(Path(cluster.env["KUBECONFIG"]).read_text())
    doc["users"][0]["user"]["token"] = token
    path.write_text(yaml.safe_dump(doc))
    return {**cluster.subprocess_env(), "KUBECONFIG": str(path)}


def test_developer_hub_token_reads_what_its_plugins_need_and_nothing_else(installed):
    """The ClusterRole the collection binds to Developer Hub's ServiceAccount, tried with its real token."""
    cluster = installed[0]
    env = as_service_account(cluster, "orchestrator", "orchestrator-token")

    def run(*args):
        return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=120, check=False)

    whoami = json.loads(run("auth", "whoami", "-o", "json").stdout)
    assert whoami["status"]["userInfo"]["username"] == "system:serviceaccount:orchestrator:orchestrator"
    for args in (("get", "pods", "-A"), ("get", "deployments,statefulsets,replicasets", "-A"),
                 ("get", "jobs,cronjobs", "-A"), ("get", "services,configmaps", "-n", "rhdh-operator"),
                 ("get", "sonataflows", "-A"), ("get", "routes", "-A"), ("get", "namespaces"),
                 ("logs", "backstage-psql-backstage-0", "-n", "rhdh-operator")):
        allowed = run(*args)
        assert allowed.returncode == 0, (args, allowed.stderr)

    def allowed(verb, group, resource):
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": {"verb": verb, "group": group, "resource": resource}}}
        answer = subprocess.run(["kubectl", "create", "--validate=false", "-o", "json", "-f", "-"], env=env,
                                input=json.dumps(review), capture_output=True, text=True, timeout=60, check=False)
        assert answer.returncode == 0, answer.stderr
        return json.loads(answer.stdout)["status"]["allowed"]

    # also kinds this cluster does not serve (Tekton and ArgoCD come with the GitOps component)
    for verb, group, resource in (("watch", "", "pods"), ("list", "autoscaling", "horizontalpodautoscalers"),
                                  ("list", "tekton.dev", "pipelineruns"), ("get", "argoproj.io", "applications")):
        assert allowed(verb, group, resource), (verb, group, resource)
    refused = (("get", "secrets", "-n", "orchestrator"), ("get", "secret", "orchestrator-token", "-n", "orchestrator"),
               ("get", "sonataflowplatforms", "-A"), ("get", "serviceaccounts", "-A"),
               ("create", "configmap", "rhdh-may-not", "-n", "default"),
               ("delete", "pod", "backstage-psql-backstage-0", "-n", "rhdh-operator", "--wait=false"),
               ("scale", "deployment", "backstage-backstage", "-n", "rhdh-operator", "--replicas=0"),
               ("create", "namespace", "rhdh-may-not"),
               ("exec", "backstage-psql-backstage-0", "-n", "rhdh-operator", "--", "true"))
    for args in refused:
        result = run(*args)
        assert result.returncode != 0 and "forbidden" in result.stderr, (args, result.stdout, result.stderr)
    for verb, group, resource in (("create", "", "pods"), ("update", "apps", "deployments"),
                                  ("delete", "sonataflow.org", "sonataflows"), ("patch", "route.openshift.io", "routes"),
                                  ("create", "", "pods/exec"), ("get", "", "secrets")):
        assert not allowed(verb, group, resource), (verb, group, resource)
    assert cluster.store.get("v1", "Pod", "backstage-psql-backstage-0", "rhdh-operator")["metadata"].get(
        "deletionTimestamp") is None
