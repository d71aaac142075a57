"""Builders of the workflow namespace: validation, policies, patches."""

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils import workflow_namespace as wn


def peer(ns):
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}


PARAMS = {"name": "sonataflow-infra", "rhdh_namespace": "rhdh", "labels": dict(wn.OWNERSHIP_LABELS),
          "knative_namespaces": ["knative-eventing", "knative-serving"], "admit_namespaces": [],
          "argocd_namespace": "", "create": True}


def test_validate():
    assert wn.validate(PARAMS) == []
    errors = wn.validate(dict(PARAMS, rhdh_namespace=""))
    assert errors == ["no RHDH namespace known: set rhdh_namespace (orchestrator_rhdh_namespace in the roles) "
                      "to the namespace where Red Hat Developer Hub runs"]
    errors = wn.validate(dict(PARAMS, name="Bad_Name", admit_namespaces=["ok", ""], argocd_namespace="-x"))
    assert errors == ["name: 'Bad_Name' is not a valid namespace name",
                      "argocd_namespace: '-x' is not a valid namespace name",
                      "admit_namespaces: '' is not a valid namespace name"]


def test_rhdh_policy_spec_order_and_no_repeats():
    spec = wn.rhdh_policy_spec("rhdh", ["knative-eventing", "knative-serving"],
                               ["openshift-serverless-logic", "rhdh", "knative-serving", "db"])
    assert spec == {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
        peer("rhdh"), {"namespaceSelector": {"matchLabels": {"rhdh.redhat.com/workflow-namespace": ""}}},
        peer("knative-eventing"), peer("knative-serving"), peer("openshift-serverless-logic"), peer("db")]}]}


def test_desired_policies():
    rhdh, intra = wn.desired_policies(dict(PARAMS, labels={"x": "y"}))
    assert rhdh["metadata"] == {"name": "allow-rhdh-to-sonataflow-and-workflows", "namespace": "sonataflow-infra",
                                "labels": {"app.kubernetes.io/managed-by": "parodos.orchestrator", "x": "y"}}
    assert intra["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"],
                             "ingress": [{"from": [{"podSelector": {}}]}]}
    assert rhdh["apiVersion"] == "networking.k8s.io/v1" and rhdh["kind"] == "NetworkPolicy"


def test_namespace_labels_and_ownership():
    assert wn.namespace_labels(PARAMS, ours=False) == {"rhdh.redhat.com/workflow-namespace": ""}
    with_argo = dict(PARAMS, argocd_namespace="gitops")
    assert wn.namespace_labels(with_argo, ours=True) == {
        "rhdh.redhat.com/workflow-namespace": "", "argocd.argoproj.io/managed-by": "gitops", **wn.OWNERSHIP_LABELS}
    assert wn.namespace_object(PARAMS)["metadata"]["labels"] == {"rhdh.redhat.com/workflow-namespace": "",
                                                                 **wn.OWNERSHIP_LABELS}


def test_the_mark_is_always_the_collections():
    # what cleanup, apply and every module take for "ours": labels cannot change it
    assert wn.ownership_labels({"team": "a"}) == {"app.kubernetes.io/managed-by": "parodos.orchestrator", "team": "a"}
    errors = wn.validate(dict(PARAMS, labels={"app.kubernetes.io/managed-by": "someone-else"}))
    assert errors == ["labels: app.kubernetes.io/managed-by must be parodos.orchestrator (the mark of the objects "
                      "of the collection), got 'someone-else'"]
    assert wn.validate(dict(PARAMS, labels={"app.kubernetes.io/managed-by": "parodos.orchestrator"})) == []
    assert not hasattr(wn, "is_ours")


def test_label_changes():
    obj = {"metadata": {"labels": {"a": "1", "b": "2"}}}
    assert wn.label_changes(obj, {"a": "1", "b": "3", "c": ""}) == {"b": "3", "c": ""}
    assert wn.label_changes(obj, {"a": "1"}) == {}
    assert wn.label_changes({}, {"a": "1"}) == {"a": "1"}


def test_merge_patch():
    assert wn.merge_patch({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 2}}) == {}
    assert wn.merge_patch({"podSelector": {"matchLabels": {"x": "y"}}}, {"podSelector": {}}) == {
        "podSelector": {"matchLabels": None}}
    assert wn.merge_patch({"ingress": [{"from": [1]}], "egress": []}, {"ingress": [{"from": [1, 2]}]}) == {
        "ingress": [{"from": [1, 2]}], "egress": None}
    assert wn.merge_patch({}, {"podSelector": {}}) == {"podSelector": {}}
    current = {"podSelector": {"matchLabels": {"x": "y"}}, "ingress": [], "extra": 1}
    desired = wn.intra_policy_spec()
    assert k8s.apply_merge_patch(current, wn.merge_patch(current, desired)) == desired


def test_policy_patch():
    desired = wn.desired_policies(PARAMS)[1]
    same = {"metadata": {"labels": dict(desired["metadata"]["labels"], extra="kept")}, "spec": desired["spec"]}
    assert wn.policy_patch(same, desired) is None
    drifted = {"metadata": {"labels": {"app.kubernetes.io/managed-by": "parodos.orchestrator"}},
               "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    assert wn.policy_patch(drifted, desired) == {
        "metadata": {"labels": {"app.kubernetes.io/part-of": "orchestrator"}},
        "spec": {"ingress": [{"from": [{"podSelector": {}}]}]}}


def test_view():
    assert wn.view(None) is None
    assert wn.view({"kind": "Namespace", "metadata": {"labels": {"a": "b"}}, "spec": {"finalizers": []}}) == {
        "labels": {"a": "b"}}
    assert wn.view({"kind": "NetworkPolicy", "metadata": {}, "spec": {"x": 1}}) == {"labels": {}, "spec": {"x": 1}}
