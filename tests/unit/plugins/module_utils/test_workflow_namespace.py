"""Builders of the workflow namespace: validation, policies, patches."""

import json

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


# ------------------------------------------------------------------ additional namespaces

PG = {"secret_name": "db", "secret_namespace": "sonataflow-infra", "user_key": "u", "password_key": "p",
      "service_name": "db", "service_namespace": "sonataflow-infra", "port": 5432, "database": "sonataflow"}


def test_own_namespace_is_not_admitted_by_name():
    assert wn.admitted("rhdh", ["knative-serving"], ["sonataflow-infra", "ops"], own="sonataflow-infra") == [
        "rhdh", "knative-serving", "ops"]
    rhdh, _intra = wn.desired_policies(dict(PARAMS, admit_namespaces=["sonataflow-infra", "ops"]))
    assert peer("sonataflow-infra") not in rhdh["spec"]["ingress"][0]["from"]
    rhdh, _intra = wn.desired_policies(dict(PARAMS, name="team-a", admit_namespaces=["sonataflow-infra", "ops"]))
    assert rhdh["spec"]["ingress"][0]["from"][-2:] == [peer("sonataflow-infra"), peer("ops")]


def test_namespace_entries_defaults():
    assert wn.namespace_entries(["a", {"name": "b", "persistence": False}, {"name": "c", "schema": "s"}, 3]) == [
        {"name": "a", "persistence": True, "schema": "a"}, {"name": "b", "persistence": False, "schema": "b"},
        {"name": "c", "persistence": True, "schema": "s"}]
    assert wn.namespace_entries("a") == [] and wn.namespace_entries(None) == []


def test_entries_problems():
    taken = {"sonataflow-infra": "the platform's namespace (orchestrator_workflow_namespace)"}
    assert wn.entries_problems(["a", {"name": "b", "persistence": False, "schema": "b_1"}], "v", taken) == []
    assert wn.entries_problems([], "v") == [] and wn.entries_problems(None, "v") == []
    assert wn.entries_problems("a", "v") == [
        "v must be a list of namespace names or of mappings with name, persistence (true or false) and schema; "
        "it is a string."]
    problems = wn.entries_problems(["Bad", "a", {"name": "a"}, "sonataflow-infra", 7,
                                    {"name": "c", "persistence": "yes", "extra": 1, "schema": "pg_x"},
                                    {"persistence": True}], "v", taken)
    assert problems == [
        "v[0].name (Bad) must be a namespace name: 1 to 63 lower-case letters, digits or -, starting and ending "
        "with a letter or digit.",
        "v[2].name (a) is listed twice (also at v[1]); list each namespace once.",
        "v[3].name (sonataflow-infra) is already the platform's namespace (orchestrator_workflow_namespace); list "
        "each additional namespace once, and not that one.",
        "v[4] must be a namespace name or a mapping with name, persistence and schema; it is a number.",
        "v[5] has unknown key(s) extra; the keys are name, persistence, schema.",
        'v[5].persistence ("yes") must be true or false (a boolean, not a string).',
        "v[5].schema (pg_x) must be a PostgreSQL schema name: names starting with pg_ are reserved for the system "
        "schemas of PostgreSQL.",
        "v[6].name (null) must be a namespace name: 1 to 63 lower-case letters, digits or -, starting and ending "
        "with a letter or digit."]
    assert wn.schema_problem("a" * 64) == "it must have 1 to 63 lower-case letters, digits, _ or -"
    assert wn.schema_problem(5) == "it is a number, not a string"


def test_persistence_block_and_copy_decision():
    assert wn.persistence_block(PG, "team-a", "") == {
        "secretRef": {"name": "db", "userKey": "u", "passwordKey": "p"},
        "serviceRef": {"name": "db", "namespace": "sonataflow-infra", "port": 5432, "databaseName": "sonataflow",
                       "databaseSchema": "team-a"}}
    assert wn.persistence_block(PG, "team-a", "s")["serviceRef"]["databaseSchema"] == "s"
    assert wn.needs_copy({"name": "team-a", "persistence": True}, PG)
    assert not wn.needs_copy({"name": "team-a", "persistence": False}, PG)
    assert not wn.needs_copy({"name": "sonataflow-infra", "persistence": True}, PG)


def test_is_copy_and_copy_plan():
    copy = {"metadata": {"labels": dict(wn.OWNERSHIP_LABELS),
                         "annotations": {wn.COPY_ANNOTATION: "sonataflow-infra/db"}}, "data": {"u": "YQ==", "x": "eA=="}}
    assert wn.is_copy(copy, PG) and wn.is_copy(copy)
    assert not wn.is_copy(copy, dict(PG, secret_namespace="other"))
    assert not wn.is_copy({"metadata": {"annotations": {wn.COPY_ANNOTATION: "sonataflow-infra/db"}}})  # not ours
    assert not wn.is_copy({"metadata": {"labels": dict(wn.OWNERSHIP_LABELS)}})
    data, remove = wn.copy_plan({"data": {"u": "Yg==", "p": "cA=="}}, copy)
    assert data == {"u": "b", "p": "p"} and remove == ["x"]
    assert wn.copy_plan({"data": {"u": "Yg=="}}, None) == ({"u": "b"}, [])


def test_record_and_restore_of_the_labels_of_a_namespace_not_created_by_the_module():
    before = {"metadata": {"name": "team-b", "labels": {"team": "b", wn.ARGOCD_LABEL: "other"}}}
    changes = {wn.WORKFLOW_LABEL: "", wn.ARGOCD_LABEL: "gitops", "app.kubernetes.io/component": "x"}
    record = wn.record_changes(before, changes)
    assert json.loads(record[wn.RECORD_ANNOTATION]) == {"labels": {wn.WORKFLOW_LABEL: None, wn.ARGOCD_LABEL: "other"}}
    after = k8s.apply_merge_patch(before, {"metadata": {"labels": changes, "annotations": record}})
    assert wn.record_changes(after, {wn.ARGOCD_LABEL: "again"}) == {}  # the value from before the first change stays
    assert not wn.created_by_module(after)
    assert wn.restore_patch(after) == {"metadata": {"annotations": {wn.RECORD_ANNOTATION: None},
                                                    "labels": {wn.WORKFLOW_LABEL: None, wn.ARGOCD_LABEL: "other"}}}
    restored = k8s.apply_merge_patch(after, wn.restore_patch(after))
    assert restored["metadata"]["labels"] == {"team": "b", wn.ARGOCD_LABEL: "other", "app.kubernetes.io/component": "x"}
    assert wn.restore_patch(restored) is None
    assert wn.restore_patch(before) is None and wn.restore_patch(None) is None


def test_a_recorded_argocd_label_goes_back_when_gitops_is_off():
    before = {"metadata": {"name": "team-b", "labels": {"team": "b"}}}
    on = wn.namespace_patch(before, dict(PARAMS, name="team-b", argocd_namespace="gitops"))
    labelled = k8s.apply_merge_patch(before, on)
    assert labelled["metadata"]["labels"][wn.ARGOCD_LABEL] == "gitops"
    assert wn.namespace_patch(labelled, dict(PARAMS, name="team-b", argocd_namespace="gitops")) is None
    off = wn.namespace_patch(labelled, dict(PARAMS, name="team-b", argocd_namespace=""))
    unlabelled = k8s.apply_merge_patch(labelled, off)
    assert wn.ARGOCD_LABEL not in unlabelled["metadata"]["labels"]
    assert wn.WORKFLOW_LABEL in unlabelled["metadata"]["labels"]
    assert json.loads(unlabelled["metadata"]["annotations"][wn.RECORD_ANNOTATION]) == {
        "labels": {wn.WORKFLOW_LABEL: None}}
    assert wn.namespace_patch(unlabelled, dict(PARAMS, name="team-b", argocd_namespace="")) is None
    # a label the user set is not the collection's: it stays
    users = {"metadata": {"name": "team-c", "labels": {wn.WORKFLOW_LABEL: "", wn.ARGOCD_LABEL: "theirs"}}}
    assert wn.namespace_patch(users, dict(PARAMS, name="team-c", argocd_namespace="")) is None
    # on a namespace the module made, it comes off
    made = wn.namespace_object(dict(PARAMS, argocd_namespace="gitops"))
    assert wn.namespace_patch(made, PARAMS)["metadata"]["labels"] == {wn.ARGOCD_LABEL: None}


def test_created_by_module():
    made = wn.namespace_object(PARAMS)
    assert json.loads(made["metadata"]["annotations"][wn.RECORD_ANNOTATION]) == {"created": True}
    assert wn.created_by_module(made) and wn.restore_patch(made) is None
    assert wn.record_changes(made, {wn.ARGOCD_LABEL: "gitops"}) == {}
    # made before records were kept: ours and labelled
    assert wn.created_by_module({"metadata": {"labels": {**wn.OWNERSHIP_LABELS, wn.WORKFLOW_LABEL: ""}}})
    assert not wn.created_by_module({"metadata": {"labels": {wn.WORKFLOW_LABEL: ""}}})
    assert not wn.created_by_module({"metadata": {"labels": dict(wn.OWNERSHIP_LABELS),
                                                  "annotations": {wn.RECORD_ANNOTATION: "not json"}}})
