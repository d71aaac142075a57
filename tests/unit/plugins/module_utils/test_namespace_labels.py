"""Labels put on namespaces that may not be ours, recorded, and taken off again (module_utils/namespace_labels)."""

import json

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils import namespace_labels as nl
from tests.unit.fakes import FakeApi

NS = "/api/v1/namespaces/"
ARGO = {"rhdh.redhat.com/argocd-namespace": ""}


def namespace(name, labels=None, annotations=None):
    meta = {"name": name, "labels": dict(labels or {})}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def labels_of(api, name):
    return api.objects[NS + name]["metadata"].get("labels") or {}


def annotations_of(api, name):
    return api.objects[NS + name]["metadata"].get("annotations") or {}


def record_of(api, name):
    text = annotations_of(api, name).get(nl.RECORD)
    return json.loads(text) if text else None


def test_a_label_added_is_recorded_and_a_second_run_sends_nothing():
    api = FakeApi({NS + "gitops": namespace("gitops", {"team": "a"})})
    results, before, after = nl.run(api, [{"name": "gitops", "labels": ARGO}], "present", False)
    assert results == [{"name": "gitops", "action": "labelled", "labels": ["rhdh.redhat.com/argocd-namespace"],
                        "recorded": ["rhdh.redhat.com/argocd-namespace"]}]
    assert labels_of(api, "gitops") == {"team": "a", **ARGO}
    assert record_of(api, "gitops") == {"labels": {"rhdh.redhat.com/argocd-namespace": None}}
    assert before == {"gitops": {"labels": {"team": "a"}}}
    assert after["gitops"]["labels"] == {"team": "a", **ARGO}
    api.requests.clear()
    results, before, after = nl.run(api, [{"name": "gitops", "labels": ARGO}], "present", False)
    assert results[0]["action"] == "keep" and before == {} and api.writes() == []


def test_a_label_that_was_there_is_not_recorded_and_stays_on_removal():
    api = FakeApi({NS + "wf": namespace("wf", {"argocd.argoproj.io/managed-by": "gitops"})})
    results, dummy, dummy2 = nl.run(api, [{"name": "wf", "labels": {"argocd.argoproj.io/managed-by": "gitops"}}],
                                    "present", False)
    assert results[0]["action"] == "keep" and api.writes() == []
    results, before, dummy = nl.run(api, [{"name": "wf", "labels": {"argocd.argoproj.io/managed-by": ""}}],
                                    "absent", False)
    assert results[0]["action"] == "keep" and before == {}
    assert labels_of(api, "wf") == {"argocd.argoproj.io/managed-by": "gitops"}


def test_another_value_is_recorded_and_put_back_on_removal():
    api = FakeApi({NS + "wf": namespace("wf", {"argocd.argoproj.io/managed-by": "other"})})
    results, dummy, dummy2 = nl.run(api, [{"name": "wf", "labels": {"argocd.argoproj.io/managed-by": "gitops"}}],
                                    "present", False)
    assert results[0]["labels"] == ["argocd.argoproj.io/managed-by"]
    assert results[0]["recorded"] == ["argocd.argoproj.io/managed-by"]
    assert labels_of(api, "wf")["argocd.argoproj.io/managed-by"] == "gitops"
    assert record_of(api, "wf") == {"labels": {"argocd.argoproj.io/managed-by": "other"}}
    results, dummy, dummy2 = nl.run(api, [{"name": "wf", "labels": {"argocd.argoproj.io/managed-by": ""}}],
                                    "absent", False)
    assert results[0]["action"] == "unlabelled"
    assert labels_of(api, "wf") == {"argocd.argoproj.io/managed-by": "other"}
    assert nl.RECORD not in annotations_of(api, "wf")


def test_removal_puts_back_only_the_labels_named_and_keeps_the_rest_of_the_record():
    api = FakeApi({NS + "gitops": namespace("gitops", {"team": "a"})})
    nl.run(api, [{"name": "gitops", "labels": {**ARGO, "team": "a", "x.example.com/y": "1"}}], "present", False)
    assert record_of(api, "gitops") == {"labels": {"rhdh.redhat.com/argocd-namespace": None,
                                                   "x.example.com/y": None}}
    results, before, after = nl.run(api, [{"name": "gitops", "labels": {**ARGO, "team": ""}}], "absent", False)
    assert results[0]["action"] == "unlabelled" and results[0]["labels"] == ["rhdh.redhat.com/argocd-namespace"]
    assert labels_of(api, "gitops") == {"team": "a", "x.example.com/y": "1"}
    assert record_of(api, "gitops") == {"labels": {"x.example.com/y": None}}
    nl.run(api, [{"name": "gitops", "labels": {"x.example.com/y": ""}}], "absent", False)
    assert labels_of(api, "gitops") == {"team": "a"}
    assert nl.RECORD not in annotations_of(api, "gitops")


def test_a_namespace_the_collection_made_records_nothing():
    made = namespace("wf", {"team": "a"}, nl.created_record())
    assert nl.record_changes(made, {"team": "b"}) == {}
    assert nl.restore_patch(made) is None and nl.restore_patch(None) is None
    assert nl.read_record(namespace("wf", {}, {nl.RECORD: "[1]"})) == {}


def test_on_a_namespace_of_ours_every_named_label_is_taken_off():
    ours = dict(k8s.OWNERSHIP_LABELS, **{"argocd.argoproj.io/managed-by": "gitops"})
    api = FakeApi({NS + "wf": namespace("wf", ours)})
    results, dummy, dummy2 = nl.run(api, [{"name": "wf", "labels": {"argocd.argoproj.io/managed-by": ""}}],
                                    "absent", False)
    assert results[0]["labels"] == ["argocd.argoproj.io/managed-by"]
    assert labels_of(api, "wf") == dict(k8s.OWNERSHIP_LABELS)


def test_a_missing_namespace_is_reported_not_created():
    api = FakeApi()
    results, before, dummy = nl.run(api, [{"name": "nope", "labels": ARGO}], "present", False)
    assert results == [{"name": "nope", "action": "missing", "labels": []}]
    assert api.writes() == [] and before == {}


def test_a_terminating_namespace_is_left_alone():
    terminating = namespace("gitops")
    terminating["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    api = FakeApi({NS + "gitops": terminating})
    results, dummy, dummy2 = nl.run(api, [{"name": "gitops", "labels": ARGO}], "present", False)
    assert results[0]["action"] == "terminating" and api.writes() == []


def test_check_mode_sends_a_dry_run_only():
    api = FakeApi({NS + "gitops": namespace("gitops")})
    results, before, after = nl.run(api, [{"name": "gitops", "labels": ARGO}], "present", True)
    assert results[0]["action"] == "labelled" and after["gitops"]["labels"] == ARGO
    assert api.writes() == [("PATCH", NS + "gitops", True)]
    assert labels_of(api, "gitops") == {}


@pytest.mark.parametrize("entry, state, fragment", [
    ({"name": "Bad_NS", "labels": ARGO}, "present", "is not a namespace name"),
    ({"name": "ns", "labels": {}}, "present", "name at least one label"),
    ({"name": "ns", "labels": {"bad key!": "x"}}, "present", "is not a label key"),
    ({"name": "ns", "labels": {"Bad_Prefix/x": "x"}}, "present", "is not a DNS subdomain"),
    ({"name": "ns", "labels": {"a": "not a value"}}, "present", "is not a label value"),
    ({"name": "ns", "labels": {"app.kubernetes.io/managed-by": "x"}}, "absent", "the collection's mark"),
])
def test_bad_options(entry, state, fragment):
    errors = nl.validate([entry], state)
    assert errors and fragment in errors[0]


def test_label_values_are_not_checked_on_removal():
    assert nl.validate([{"name": "ns", "labels": {"a": None}}], "absent") == []
