"""The workflow_namespace module against an in-memory API, and main() as Ansible runs it."""

import copy

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils import workflow_namespace as wn
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from ansible_collections.parodos.orchestrator.plugins.modules import workflow_namespace

NS = "/api/v1/namespaces"
NP = "/apis/networking.k8s.io/v1/namespaces/wf/networkpolicies"


class FakeApi:
    """Objects by path; records (method, path, dry_run)."""

    def __init__(self, objects=None, race_namespace=None):
        self.objects = copy.deepcopy(objects or {})
        self.race_namespace = race_namespace
        self.requests = []

    def get(self, path, query=None):
        self.requests.append(("GET", path, False))
        if path == NP and NS + "/wf" in self.objects:
            return {"items": [copy.deepcopy(obj) for key, obj in sorted(self.objects.items())
                              if key.startswith(NP + "/")]}
        if path not in self.objects:
            raise ApiError("not found", 404)
        return copy.deepcopy(self.objects[path])

    def create(self, path, body, dry_run=False):
        self.requests.append(("POST", path, dry_run))
        target = path + "/" + body["metadata"]["name"]
        if path == NS and self.race_namespace:
            self.objects[target] = self.race_namespace
            self.race_namespace = None
            raise ApiError("already exists", 409)
        if target in self.objects:
            raise ApiError("already exists", 409)
        if path.startswith("/apis/") and NS + "/" + path.split("/")[5] not in self.objects:
            raise ApiError("namespaces not found", 404)
        if not dry_run:
            self.objects[target] = copy.deepcopy(body)
        return body

    def merge_patch(self, path, body, dry_run=False):
        self.requests.append(("PATCH", path, dry_run))
        obj = k8s.apply_merge_patch(self.objects[path], body)
        if not dry_run:
            self.objects[path] = obj
        return obj

    def writes(self):
        return [r for r in self.requests if r[0] != "GET"]


PARAMS = {"name": "wf", "rhdh_namespace": "rhdh", "create": True, "labels": dict(wn.OWNERSHIP_LABELS),
          "knative_namespaces": ["knative-eventing", "knative-serving"], "admit_namespaces": [],
          "argocd_namespace": ""}


def test_creates_everything_then_nothing():
    api = FakeApi()
    report = workflow_namespace.ensure(api, PARAMS, False)
    assert report.created == ["Namespace/wf", "NetworkPolicy/wf/allow-rhdh-to-sonataflow-and-workflows",
                              "NetworkPolicy/wf/allow-intra-namespace"]
    assert report.changed and report.updated == []
    assert api.writes() == [("POST", NS, False), ("POST", NP, False), ("POST", NP, False)]
    assert api.objects[NS + "/wf"]["metadata"]["labels"] == {"rhdh.redhat.com/workflow-namespace": "",
                                                             **wn.OWNERSHIP_LABELS}
    api.requests.clear()
    report = workflow_namespace.ensure(api, PARAMS, False)
    assert not report.changed and api.writes() == []
    assert report.before == report.after
    # the namespace, then both policies in one list read
    assert api.requests == [("GET", NS + "/wf", False), ("GET", NP, False)]


def test_check_mode_in_a_missing_namespace_sends_dry_runs_only():
    api = FakeApi()
    report = workflow_namespace.ensure(api, PARAMS, True)
    assert report.changed and len(report.created) == 3
    assert api.writes() == [("POST", NS, True), ("POST", NP, True), ("POST", NP, True)]
    assert api.objects == {}
    assert [r[1] for r in api.requests if r[0] == "GET"] == [NS + "/wf"]  # no policy read in a missing namespace
    assert report.before == {"namespace": None, "networkpolicies": {}}
    assert report.after["networkpolicies"]["allow-intra-namespace"]["spec"] == wn.intra_policy_spec()


def test_check_mode_in_an_existing_namespace_patches_as_dry_run():
    api = FakeApi({NS + "/wf": {"metadata": {"name": "wf", "labels": dict(wn.OWNERSHIP_LABELS)}}})
    report = workflow_namespace.ensure(api, PARAMS, True)
    assert report.updated == ["Namespace/wf"]
    assert all(r[2] for r in api.writes())
    assert NP + "/allow-intra-namespace" not in api.objects
    assert report.after["namespace"]["labels"]["rhdh.redhat.com/workflow-namespace"] == ""


def test_existing_namespace_not_ours_gets_no_ownership_label():
    api = FakeApi({NS + "/wf": {"metadata": {"name": "wf", "labels": {"team": "a"}}}})
    workflow_namespace.ensure(api, dict(PARAMS, argocd_namespace="gitops"), False)
    assert api.objects[NS + "/wf"]["metadata"]["labels"] == {
        "team": "a", "rhdh.redhat.com/workflow-namespace": "", "argocd.argoproj.io/managed-by": "gitops"}
    assert api.writes()[0] == ("PATCH", NS + "/wf", False)


def test_policy_not_ours_is_kept_with_a_warning():
    theirs = {"metadata": {"name": "allow-intra-namespace", "labels": {"owner": "them"}}, "spec": {"podSelector": {}}}
    api = FakeApi({NS + "/wf": {"metadata": {"name": "wf", "labels": {"rhdh.redhat.com/workflow-namespace": ""}}},
                   NP + "/allow-intra-namespace": theirs})
    report = workflow_namespace.ensure(api, PARAMS, False)
    assert report.kept == ["NetworkPolicy/wf/allow-intra-namespace"]
    assert report.created == ["NetworkPolicy/wf/allow-rhdh-to-sonataflow-and-workflows"]
    assert api.objects[NP + "/allow-intra-namespace"] == theirs
    assert report.warnings == ["NetworkPolicy/wf/allow-intra-namespace exists and was not created by this "
                               "collection: it was left as it is; make sure it admits what allow-intra-namespace "
                               "admits"]


def test_our_drifted_policy_is_patched():
    api = FakeApi()
    workflow_namespace.ensure(api, PARAMS, False)
    api.objects[NP + "/allow-rhdh-to-sonataflow-and-workflows"]["spec"]["podSelector"] = {"matchLabels": {"a": "b"}}
    api.requests.clear()
    report = workflow_namespace.ensure(api, dict(PARAMS, admit_namespaces=["db"]), False)
    assert report.updated == ["NetworkPolicy/wf/allow-rhdh-to-sonataflow-and-workflows"]
    assert api.objects[NP + "/allow-rhdh-to-sonataflow-and-workflows"]["spec"] == wn.rhdh_policy_spec(
        "rhdh", ["knative-eventing", "knative-serving"], ["db"])
    assert api.writes() == [("PATCH", NP + "/allow-rhdh-to-sonataflow-and-workflows", False)]


def test_namespace_created_meanwhile_is_treated_as_existing():
    api = FakeApi(race_namespace={"metadata": {"name": "wf", "labels": {"team": "a"}}})
    report = workflow_namespace.ensure(api, PARAMS, False)
    assert report.updated == ["Namespace/wf"]
    assert "app.kubernetes.io/managed-by" not in api.objects[NS + "/wf"]["metadata"]["labels"]


def test_missing_namespace_without_create_and_terminating_namespace_fail():
    with pytest.raises(ValueError, match="the namespace does not exist and create is false"):
        workflow_namespace.ensure(FakeApi(), dict(PARAMS, create=False), False)
    deleting = FakeApi({NS + "/wf": {"metadata": {"name": "wf", "deletionTimestamp": "2024-01-01T00:00:00Z"}}})
    with pytest.raises(ValueError, match="being deleted"):
        workflow_namespace.ensure(deleting, PARAMS, False)
    assert deleting.writes() == []


# ------------------------------------------------------------------ main()

def test_empty_rhdh_namespace_fails_before_connecting(run_module):
    code, result = run_module(workflow_namespace, {"name": "wf", "rhdh_namespace": ""})
    assert code == 1 and result["changed"] is False
    assert result["msg"].startswith("Workflow namespace wf: no RHDH namespace known: set rhdh_namespace")


def test_main_result_and_diff(run_module):
    api = FakeApi()
    code, result = run_module(workflow_namespace, {"name": "wf", "rhdh_namespace": "rhdh"}, api=api, diff=True)
    assert code == 0, result
    assert result["changed"] is True and result["namespace"] == "wf"
    assert result["policies"] == ["allow-rhdh-to-sonataflow-and-workflows", "allow-intra-namespace"]
    assert len(result["created"]) == 3 and result["updated"] == [] and result["kept"] == []
    assert result["diff"]["after"]["namespace"]["labels"] == {"rhdh.redhat.com/workflow-namespace": "",
                                                              **wn.OWNERSHIP_LABELS}


def test_main_reports_api_errors(run_module):
    class Forbidden(FakeApi):
        def create(self, path, body, dry_run=False):
            raise ApiError('namespaces is forbidden: User "dev" cannot create resource', 403)
    code, result = run_module(workflow_namespace, {"name": "wf", "rhdh_namespace": "rhdh"}, api=Forbidden())
    assert code == 1
    assert result["msg"] == 'Workflow namespace wf: namespaces is forbidden: User "dev" cannot create resource'
