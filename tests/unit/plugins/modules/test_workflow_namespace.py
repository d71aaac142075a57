"""The workflow_namespace module against an in-memory API, and main() as Ansible runs it."""

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import workflow_namespace as wn
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from ansible_collections.parodos.orchestrator.plugins.modules import workflow_namespace
from tests.unit.fakes import FakeApi

NS = "/api/v1/namespaces"
NP = "/apis/networking.k8s.io/v1/namespaces/wf/networkpolicies"


def cluster(objects=None, race_namespace=None):
    """The API with ``objects``; with ``race_namespace``, that Namespace appears just before ours is created."""
    api = FakeApi(objects)
    if race_namespace:
        api.on_request(lambda api: api.objects.__setitem__(NS + "/wf", race_namespace), method="POST", path=NS,
                       times=1)
    return api


PARAMS = {"name": "wf", "rhdh_namespace": "rhdh", "create": True, "labels": dict(wn.OWNERSHIP_LABELS),
          "knative_namespaces": ["knative-eventing", "knative-serving"], "admit_namespaces": [],
          "argocd_namespace": ""}


def test_creates_everything_then_nothing():
    api = cluster()
    report = wn.ensure(api, PARAMS, False)
    assert report.created == ["Namespace/wf", "NetworkPolicy/wf/allow-rhdh-to-sonataflow-and-workflows",
                              "NetworkPolicy/wf/allow-intra-namespace"]
    assert report.changed and report.updated == []
    assert api.writes() == [("POST", NS, False), ("POST", NP, False), ("POST", NP, False)]
    assert api.objects[NS + "/wf"]["metadata"]["labels"] == {"rhdh.redhat.com/workflow-namespace": "",
                                                             **wn.OWNERSHIP_LABELS}
    api.requests.clear()
    report = wn.ensure(api, PARAMS, False)
    assert not report.changed and api.writes() == []
    assert report.before == report.after
    # the namespace, then both policies in one list read
    assert api.calls("method", "path", "dry_run") == [("GET", NS + "/wf", False), ("GET", NP, False)]


def test_check_mode_in_a_missing_namespace_sends_dry_runs_only():
    api = cluster()
    report = wn.ensure(api, PARAMS, True)
    assert report.changed and len(report.created) == 3
    assert api.writes() == [("POST", NS, True), ("POST", NP, True), ("POST", NP, True)]
    assert api.objects == {}
    assert api.paths("GET") == [NS + "/wf"]  # no policy read in a missing namespace
    assert report.before == {"namespace": None, "networkpolicies": {}}
    assert report.after["networkpolicies"]["allow-intra-namespace"]["spec"] == wn.intra_policy_spec()


def test_check_mode_in_an_existing_namespace_patches_as_dry_run():
    api = cluster({NS + "/wf": {"metadata": {"name": "wf", "labels": dict(wn.OWNERSHIP_LABELS)}}})
    report = wn.ensure(api, PARAMS, True)
    assert report.updated == ["Namespace/wf"]
    assert all(r[2] for r in api.writes())
    assert NP + "/allow-intra-namespace" not in api.objects
    assert report.after["namespace"]["labels"]["rhdh.redhat.com/workflow-namespace"] == ""


def test_existing_namespace_not_ours_gets_no_ownership_label():
    api = cluster({NS + "/wf": {"metadata": {"name": "wf", "labels": {"team": "a"}}}})
    wn.ensure(api, dict(PARAMS, argocd_namespace="gitops"), False)
    assert api.objects[NS + "/wf"]["metadata"]["labels"] == {
        "team": "a", "rhdh.redhat.com/workflow-namespace": "", "argocd.argoproj.io/managed-by": "gitops"}
    assert api.writes()[0] == ("PATCH", NS + "/wf", False)


def test_policy_not_ours_is_kept_with_a_warning():
    theirs = {"metadata": {"name": "allow-intra-namespace", "labels": {"owner": "them"}}, "spec": {"podSelector": {}}}
    api = cluster({NS + "/wf": {"metadata": {"name": "wf", "labels": {"rhdh.redhat.com/workflow-namespace": ""}}},
                   NP + "/allow-intra-namespace": theirs})
    report = wn.ensure(api, PARAMS, False)
    assert report.kept == ["NetworkPolicy/wf/allow-intra-namespace"]
    assert report.created == ["NetworkPolicy/wf/allow-rhdh-to-sonataflow-and-workflows"]
    assert api.objects[NP + "/allow-intra-namespace"] == theirs
    assert report.warnings == ["NetworkPolicy/wf/allow-intra-namespace exists and was not created by this "
                               "collection: it was left as it is; make sure it admits what allow-intra-namespace "
                               "admits"]


def test_our_drifted_policy_is_patched():
    api = cluster()
    wn.ensure(api, PARAMS, False)
    api.objects[NP + "/allow-rhdh-to-sonataflow-and-workflows"]["spec"]["podSelector"] = {"matchLabels": {"a": "b"}}
    api.requests.clear()
    report = wn.ensure(api, dict(PARAMS, admit_namespaces=["db"]), False)
    assert report.updated == ["NetworkPolicy/wf/allow-rhdh-to-sonataflow-and-workflows"]
    assert api.objects[NP + "/allow-rhdh-to-sonataflow-and-workflows"]["spec"] == wn.rhdh_policy_spec(
        "rhdh", ["knative-eventing", "knative-serving"], ["db"])
    assert api.writes() == [("PATCH", NP + "/allow-rhdh-to-sonataflow-and-workflows", False)]


def test_namespace_created_meanwhile_is_treated_as_existing():
    api = cluster(race_namespace={"metadata": {"name": "wf", "labels": {"team": "a"}}})
    report = wn.ensure(api, PARAMS, False)
    assert report.updated == ["Namespace/wf"]
    assert "app.kubernetes.io/managed-by" not in api.objects[NS + "/wf"]["metadata"]["labels"]
    assert api.writes()[0] == ("POST", NS, False)  # refused: it exists by then


def test_missing_namespace_without_create_and_terminating_namespace_fail():
    with pytest.raises(ValueError, match="the namespace does not exist and create is false"):
        wn.ensure(cluster(), dict(PARAMS, create=False), False)
    deleting = cluster({NS + "/wf": {"metadata": {"name": "wf", "deletionTimestamp": "2024-01-01T00:00:00Z"}}})
    with pytest.raises(ValueError, match="being deleted"):
        wn.ensure(deleting, PARAMS, False)
    assert deleting.writes() == []


# ------------------------------------------------------------------ main()

def test_empty_rhdh_namespace_fails_before_connecting(run_module):
    code, result = run_module(workflow_namespace, {"name": "wf", "rhdh_namespace": ""})
    assert code == 1 and result["changed"] is False
    assert result["msg"].startswith("Workflow namespace wf: no RHDH namespace known: set rhdh_namespace")


def test_main_result_and_diff(run_module):
    api = cluster()
    code, result = run_module(workflow_namespace, {"name": "wf", "rhdh_namespace": "rhdh"}, api=api, diff=True)
    assert code == 0, result
    assert result["changed"] is True and result["namespace"] == "wf"
    assert result["policies"] == ["allow-rhdh-to-sonataflow-and-workflows", "allow-intra-namespace"]
    assert len(result["created"]) == 3 and result["updated"] == [] and result["kept"] == []
    assert result["diff"]["after"]["namespace"]["labels"] == {"rhdh.redhat.com/workflow-namespace": "",
                                                              **wn.OWNERSHIP_LABELS}


def test_main_reports_api_errors(run_module):
    api = cluster()
    api.fail(ApiError('namespaces is forbidden: User "dev" cannot create resource', 403), method="POST")
    code, result = run_module(workflow_namespace, {"name": "wf", "rhdh_namespace": "rhdh"}, api=api)
    assert code == 1 and api.objects == {}
    assert result["msg"] == 'Workflow namespace wf: namespaces is forbidden: User "dev" cannot create resource'


# ------------------------------------------------------------------ several namespaces, the copy, state=absent

PG = {"secret_name": "db", "secret_namespace": "infra", "user_key": "u", "password_key": "p", "service_name": "db",
      "service_namespace": "infra", "port": 5432, "database": "sonataflow"}
SOURCE = "/api/v1/namespaces/infra/secrets/db"
COPY = "/api/v1/namespaces/wf/secrets/db"


def source_secret(password="cA=="):
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "db", "namespace": "infra"},
            "data": {"u": "dQ==", "p": password}}


def present(api, check_mode=False):
    params = dict(PARAMS, labels={**wn.OWNERSHIP_LABELS, "app.kubernetes.io/component": "serverless-logic"})
    return wn.ensure(api, params, check_mode, {"name": "wf", "persistence": True}, PG)


def test_the_copy_is_made_follows_its_source_and_is_not_shown():
    api = cluster({SOURCE: source_secret()})
    report = present(api)
    assert "Secret/wf/db" in report.created
    copy = api.objects[COPY]
    assert copy["data"] == {"u": "dQ==", "p": "cA=="} and copy["type"] == "Opaque"
    assert copy["metadata"]["annotations"] == {wn.COPY_ANNOTATION: "infra/db"}
    assert copy["metadata"]["labels"]["app.kubernetes.io/component"] == "serverless-logic"
    assert "cA==" not in str(report.after) and "cA==" not in str(report.before)
    assert not present(api).changed
    api.objects[SOURCE]["data"]["p"] = "bmV3"
    report = present(api)
    assert report.updated == ["Secret/wf/db"] and api.objects[COPY]["data"]["p"] == "bmV3"


def test_a_secret_of_that_name_not_ours_is_kept_and_a_missing_source_fails():
    foreign = {"metadata": {"name": "db", "namespace": "wf"}, "data": {"x": "eA=="}}
    api = cluster({SOURCE: source_secret(), COPY: foreign, NS + "/wf": {"metadata": {"name": "wf"}}})
    report = present(api)
    assert report.kept == ["Secret/wf/db"] and api.objects[COPY]["data"] == {"x": "eA=="}
    assert "is not a copy made by this collection" in report.warnings[0]
    with pytest.raises(ValueError, match="the PostgreSQL Secret infra/db, which is copied to the namespace, does not"):
        present(cluster())
    report = present(cluster(), check_mode=True)  # the source comes later in a check-mode run
    assert "Secret/wf/db" in report.created and "does not exist yet" in report.warnings[0]


def test_absent_takes_back_only_what_was_added():
    api = cluster({SOURCE: source_secret(), NS + "/wf": {"metadata": {"name": "wf", "labels": {"team": "a"}}},
                   "/apis/networking.k8s.io/v1/namespaces/wf/networkpolicies/theirs": {
                       "metadata": {"name": "theirs", "namespace": "wf"}, "spec": {}},
                   "/api/v1/namespaces/wf/secrets/theirs": {"metadata": {"name": "theirs", "namespace": "wf"}}})
    present(api)
    assert api.objects[NS + "/wf"]["metadata"]["labels"][wn.WORKFLOW_LABEL] == ""
    params = dict(PARAMS, state="absent", wait_timeout=5, wait_sleep=0)
    report = wn.remove(api, params, True)  # check mode: dry runs only
    assert sorted(report.removed) == ["NetworkPolicy wf/allow-intra-namespace",
                                      "NetworkPolicy wf/allow-rhdh-to-sonataflow-and-workflows", "Secret wf/db"]
    assert all(dry for _m, _p, dry in api.writes()[-4:]) and COPY in api.objects
    report = wn.remove(api, params, False)
    assert report.updated == ["Namespace/wf"] and not report.namespace_created
    assert COPY not in api.objects
    assert sorted(p for p in api.objects if "/wf/" in p) == [
        "/api/v1/namespaces/wf/secrets/theirs", "/apis/networking.k8s.io/v1/namespaces/wf/networkpolicies/theirs"]
    assert api.objects[NS + "/wf"]["metadata"]["labels"] == {"team": "a"}
    assert not (api.objects[NS + "/wf"]["metadata"].get("annotations") or {})
    assert not wn.remove(api, params, False).changed


def test_absent_names_a_namespace_the_module_created():
    api = cluster()
    wn.ensure(api, PARAMS, False)
    report = wn.remove(api, dict(PARAMS, state="absent", wait_timeout=5, wait_sleep=0), False)
    assert report.namespace_created and report.updated == [] and NS + "/wf" in api.objects
    assert wn.remove(cluster(), dict(PARAMS, state="absent", wait_timeout=5, wait_sleep=0),
                     False).removed == []


def test_main_several_namespaces_and_their_persistence(run_module):
    api = cluster({SOURCE: source_secret()})
    args = {"namespaces": [{"name": "infra", "persistence": True}, {"name": "wf", "persistence": True,
                                                                    "schema": "wf_s"},
                           {"name": "other"}],
            "rhdh_namespace": "rhdh", "admit_namespaces": ["infra"], "postgresql": PG}
    code, result = run_module(workflow_namespace, args, api=api)
    assert code == 0, result
    by_name = {n["name"]: n for n in result["namespaces"]}
    assert by_name["wf"]["persistence"]["serviceRef"]["databaseSchema"] == "wf_s"
    assert by_name["infra"]["persistence"]["serviceRef"]["databaseSchema"] == "infra"
    assert by_name["other"]["persistence"] is None
    assert "Secret/wf/db" in result["created"] and not any("Secret/infra" in r or "Secret/other" in r
                                                           for r in result["created"])
    assert "namespace" not in result


def test_main_rejects_bad_options_before_connecting(run_module):
    code, result = run_module(workflow_namespace, {"namespaces": [{"name": "a", "persistence": True}, {"name": "a"}],
                                                   "rhdh_namespace": "rhdh"})
    assert code == 1
    assert result["msg"] == ("Workflow namespace a, a: namespaces lists a more than once; persistence is wanted in a: "
                             "set postgresql (the Secret and Service of the database)")
    code, result = run_module(workflow_namespace, {"name": "a", "namespaces": [{"name": "b"}], "rhdh_namespace": "r"})
    assert code == 1 and "set either name or namespaces" in result["msg"]
    code, result = run_module(workflow_namespace, {"namespaces": [{"name": "a", "schema": "pg_a"}],
                                                   "rhdh_namespace": "r"})
    assert code == 1 and "schema 'pg_a' is not a schema name" in result["msg"]
