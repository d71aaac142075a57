"""workflow_namespace against the local test cluster: labels, exact policies, idempotence, check mode."""

from __future__ import annotations

from tests.helpers import play_recap, run_module, writes

NP_API = "networking.k8s.io/v1"
RHDH_POLICY = "allow-rhdh-to-sonataflow-and-workflows"
INTRA_POLICY = "allow-intra-namespace"
OWNERSHIP = {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator"}


def peer(namespace):
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


WORKFLOW_PEER = {"namespaceSelector": {"matchLabels": {"rhdh.redhat.com/workflow-namespace": ""}}}
INTRA_SPEC = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}


def rhdh_spec(*admitted):
    peers = [peer("rhdh-operator"), WORKFLOW_PEER, peer("knative-eventing"), peer("knative-serving")]
    return {"podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": peers + [peer(ns) for ns in admitted]}]}


def run(cluster, tmp_path, check=False, diff=False, **options):
    args = {"name": "sonataflow-infra", "rhdh_namespace": "rhdh-operator", **options}
    return run_module(cluster, tmp_path, "workflow_namespace", args, check=check, diff=diff)


def labels(cluster, namespace):
    return cluster.store.get("v1", "Namespace", namespace)["metadata"].get("labels") or {}


def policy(cluster, name, namespace="sonataflow-infra"):
    return cluster.store.try_get(NP_API, "NetworkPolicy", name, namespace)


def test_creates_namespace_and_policies_then_changes_nothing(cluster, tmp_path):
    output, result = run(cluster, tmp_path, admit_namespaces=["openshift-serverless-logic"])
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert result["created"] == ["Namespace/sonataflow-infra",
                                 "NetworkPolicy/sonataflow-infra/" + RHDH_POLICY,
                                 "NetworkPolicy/sonataflow-infra/" + INTRA_POLICY]
    assert result["updated"] == [] and result["kept"] == []
    assert result["policies"] == [RHDH_POLICY, INTRA_POLICY]
    assert labels(cluster, "sonataflow-infra") == {
        "rhdh.redhat.com/workflow-namespace": "", "kubernetes.io/metadata.name": "sonataflow-infra", **OWNERSHIP}
    rhdh = policy(cluster, RHDH_POLICY)
    assert rhdh["spec"] == rhdh_spec("openshift-serverless-logic")
    assert rhdh["metadata"]["labels"] == OWNERSHIP
    intra = policy(cluster, INTRA_POLICY)
    assert intra["spec"] == INTRA_SPEC
    assert intra["metadata"]["labels"] == OWNERSHIP
    assert all("fieldManager=parodos.orchestrator" in e.query for e in cluster.requests.find("POST"))

    cluster.requests.reset()
    output, result = run(cluster, tmp_path, admit_namespaces=["openshift-serverless-logic"])
    assert result["changed"] is False
    assert result["created"] == [] and result["updated"] == []
    assert play_recap(output)["changed"] == 0
    assert writes(cluster) == [] and writes(cluster, dry_run=True) == []


def test_drift_in_our_policy_is_patched_back(cluster, tmp_path):
    run(cluster, tmp_path)
    drifted = policy(cluster, RHDH_POLICY)
    drifted["spec"]["podSelector"] = {"matchLabels": {"app": "only-this"}}
    drifted["spec"]["ingress"] = []
    cluster.store.update(drifted, manager="someone")
    cluster.requests.reset()
    output, result = run(cluster, tmp_path, admit_namespaces=["db"])
    assert result["changed"] is True
    assert result["updated"] == ["NetworkPolicy/sonataflow-infra/" + RHDH_POLICY]
    assert policy(cluster, RHDH_POLICY)["spec"] == rhdh_spec("db")
    assert [e.content_type for e in cluster.requests.find("PATCH")] == ["application/merge-patch+json"]


def test_existing_namespace_not_ours(cluster, tmp_path):
    cluster.store.create({"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": "team-a", "labels": {"team": "a"}}}, manager="someone")
    cluster.store.create({"apiVersion": NP_API, "kind": "NetworkPolicy",
                          "metadata": {"name": INTRA_POLICY, "namespace": "team-a"},
                          "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}, manager="someone")
    output, result = run(cluster, tmp_path, name="team-a", argocd_namespace="orchestrator-gitops",
                         admit_namespaces=["openshift-serverless-logic", "sonataflow-infra", "rhdh-operator"])
    assert result.get("failed") is not True, result
    assert labels(cluster, "team-a") == {"team": "a", "kubernetes.io/metadata.name": "team-a",
                                         "rhdh.redhat.com/workflow-namespace": "",
                                         "argocd.argoproj.io/managed-by": "orchestrator-gitops"}
    assert result["updated"] == ["Namespace/team-a"]
    assert result["created"] == ["NetworkPolicy/team-a/" + RHDH_POLICY]
    assert result["kept"] == ["NetworkPolicy/team-a/" + INTRA_POLICY]
    expected = rhdh_spec("openshift-serverless-logic", "sonataflow-infra")
    assert policy(cluster, RHDH_POLICY, "team-a")["spec"] == expected
    assert policy(cluster, INTRA_POLICY, "team-a")["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert "NetworkPolicy/team-a/%s exists and was not created by this collection" % INTRA_POLICY in output


def test_empty_rhdh_namespace_fails_before_any_request(cluster, tmp_path):
    cluster.requests.reset()
    output, result = run(cluster, tmp_path, rhdh_namespace="")
    assert result["failed"] is True
    assert result["msg"].startswith("Workflow namespace sonataflow-infra: no RHDH namespace known: set rhdh_namespace")
    assert len(cluster.requests) == 0
    assert cluster.store.try_get("v1", "Namespace", "sonataflow-infra") is None


def test_check_mode_writes_nothing_and_diff_shows_policies(cluster, tmp_path):
    cluster.requests.reset()
    output, result = run(cluster, tmp_path, check=True, diff=True, admit_namespaces=["monitoring"])
    assert result["changed"] is True
    assert result["created"][0] == "Namespace/sonataflow-infra"
    assert writes(cluster) == []
    assert writes(cluster, dry_run=True) == [
        ("POST", "/api/v1/namespaces"),
        ("POST", "/apis/networking.k8s.io/v1/namespaces/sonataflow-infra/networkpolicies"),
        ("POST", "/apis/networking.k8s.io/v1/namespaces/sonataflow-infra/networkpolicies")]
    assert cluster.store.try_get("v1", "Namespace", "sonataflow-infra") is None
    diff = result["diff"]
    assert diff["before"] == {"namespace": None, "networkpolicies": {}}
    assert diff["after"]["networkpolicies"][RHDH_POLICY]["spec"] == rhdh_spec("monitoring")
    assert diff["after"]["networkpolicies"][INTRA_POLICY]["spec"] == INTRA_SPEC
    assert RHDH_POLICY in output and '"kubernetes.io/metadata.name": "monitoring"' in output
