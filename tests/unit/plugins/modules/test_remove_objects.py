"""remove_objects against an in-memory API: what is deleted, the wait, and the report of what is stuck."""

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import removal
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from ansible_collections.parodos.orchestrator.plugins.modules import remove_objects
from tests.unit.fakes import DELETION_TIME, Clock, FakeApi

OURS = {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/component": "rhdh"}
BS = "/apis/rhdh.redhat.com/v1alpha1"
DISCOVERY = {"resources": [{"name": "backstages", "kind": "Backstage", "namespaced": True}]}


def cluster(objects):
    """The API with Backstage served and ``objects``."""
    return FakeApi(dict(objects, **{BS: DISCOVERY}))


def backstage(name="backstage", labels=None, finalizers=()):
    return {"metadata": {"name": name, "namespace": "rhdh", "uid": name,
                         "labels": dict(OURS if labels is None else labels), "finalizers": list(finalizers)}}


def secret(name, labels=None):
    return {"metadata": {"name": name, "namespace": "rhdh", "uid": name,
                         "labels": dict(OURS if labels is None else labels)}}


def items(*raw):
    return removal.normalize(list(raw))[0]


def run(api, resources, check=False, timeout=30, on_pause=None, list_only=False):
    """remove() on a fake clock; ``on_pause(api)`` runs after every pause (a controller at work)."""
    clock = Clock()
    if on_pause:
        clock.on_sleep(lambda: on_pause(api))
    result = remove_objects.remove(api, items(*resources), check, timeout, 2, clock=clock, pause=clock.sleep,
                                   list_only=list_only)
    result.pop("found")
    return result


SECRETS = "/api/v1/namespaces/rhdh/secrets"


def test_removes_only_what_is_ours_and_reports_the_rest():
    api = cluster({SECRETS + "/ours": secret("ours"), SECRETS + "/theirs": secret("theirs", {})})
    result = run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours"},
                       {"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "theirs"}])
    assert result == {"changed": True, "removed": ["Secret rhdh/ours"], "kept": ["Secret rhdh/theirs"]}
    assert sorted(api.objects) == [SECRETS + "/theirs", BS]
    assert api.writes() == [("DELETE", SECRETS + "/ours", False)]


def test_lists_with_the_ownership_selector_and_waits_for_finalizers():
    path = BS + "/namespaces/rhdh/backstages/backstage"
    api = cluster({path: backstage(finalizers=["rhdh.redhat.com/finalizer"])})

    def operator(api):  # the operator removes its finalizer a few seconds later
        if api.objects.get(path, {}).get("metadata", {}).get("deletionTimestamp"):
            del api.objects[path]

    result = run(api, [{"api_version": "rhdh.redhat.com/v1alpha1", "kind": "Backstage",
                        "label_selector": "app.kubernetes.io/component=rhdh"}], on_pause=operator)
    assert result["changed"] is True and result["removed"] == ["Backstage rhdh/backstage"]
    assert ("GET", BS + "/backstages", {
        "labelSelector": "app.kubernetes.io/managed-by=parodos.orchestrator,app.kubernetes.io/component=rhdh"}) \
        in api.calls("method", "path", "query")
    assert api.objects == {BS: DISCOVERY}
    assert api.writes() == [("DELETE", path, False)]


def test_a_stuck_object_fails_with_its_finalizers_after_the_timeout():
    path = BS + "/namespaces/rhdh/backstages/backstage"
    api = cluster({path: backstage(finalizers=["rhdh.redhat.com/finalizer"])})
    result = run(api, [{"api_version": "rhdh.redhat.com/v1alpha1", "kind": "Backstage", "component": "Developer Hub"}],
                 timeout=10)
    assert api.objects[path]["metadata"]["deletionTimestamp"] == DELETION_TIME
    assert result["msg"].splitlines()[1] == (
        "- Developer Hub: Backstage rhdh/backstage is still there (deleted at 2026-01-01T00:00:00Z, "
        "finalizers: rhdh.redhat.com/finalizer)")
    assert result["stuck"] == ["Backstage rhdh/backstage (deleted at 2026-01-01T00:00:00Z, "
                               "finalizers: rhdh.redhat.com/finalizer)"]


def test_check_mode_sends_dry_runs_and_lists_what_would_go():
    api = cluster({SECRETS + "/ours": secret("ours")})
    result = run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours"}], check=True)
    assert result == {"changed": True, "removed": ["Secret rhdh/ours"], "kept": []}
    assert api.writes() == [("DELETE", SECRETS + "/ours", True)] and api.objects[SECRETS + "/ours"] == secret("ours")


def test_nothing_there_or_kind_not_served_changes_nothing():
    api = cluster({})
    result = run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "gone"},
                       {"api_version": "sonataflow.org/v1alpha08", "kind": "SonataFlow"}])
    assert result == {"changed": False, "removed": [], "kept": []} and api.writes() == []
    assert "/apis/sonataflow.org/v1alpha08" in api.paths("GET")  # asked, and not served


def test_an_object_already_being_deleted_is_waited_for_without_a_new_delete():
    path = SECRETS + "/ours"
    obj = secret("ours")
    obj["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z", finalizers=["x"])
    api = cluster({path: obj})
    result = run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours"}],
                 on_pause=lambda api: api.objects.pop(path, None))
    assert result["changed"] is False and result["removed"] == ["Secret rhdh/ours"] and api.writes() == []


def test_transient_errors_while_waiting_are_retried_others_raise():
    path = SECRETS + "/ours"
    obj = secret("ours")
    obj["metadata"]["finalizers"] = ["x"]
    api = cluster({path: obj})
    calls = {"n": 0}

    def flaky(api):
        calls["n"] += 1
        if calls["n"] == 1:
            api.inject([ApiError("unavailable", 503)], method="GET")
        else:
            api.objects.pop(path, None)

    assert run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours"}],
               on_pause=flaky)["removed"] == ["Secret rhdh/ours"]
    assert api.pending() == 0 and calls["n"] >= 2
    api = cluster({path: obj})
    with pytest.raises(ApiError) as exc:
        run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours"}],
            on_pause=lambda api: api.inject([ApiError("forbidden", 403)], method="GET"))
    assert exc.value.status == 403


def test_named_object_must_match_the_selector_too():
    api = cluster({SECRETS + "/ours": secret("ours")})
    result = run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours",
                        "label_selector": "app.kubernetes.io/component=postgresql"}])
    assert result["removed"] == [] and api.writes() == []


def test_list_only_finds_without_deleting():
    api = cluster({SECRETS + "/ours": secret("ours"), SECRETS + "/theirs": secret("theirs", {})})
    resources = items({"api_version": "v1", "kind": "Secret", "namespace": "rhdh"})
    result = remove_objects.remove(api, resources, False, 30, 2, list_only=True)
    assert result == {"changed": False, "removed": [], "kept": [],
                      "found": [{"kind": "Secret", "namespace": "rhdh", "name": "ours"}]}
    assert api.writes() == [] and sorted(api.under(SECRETS)) == [SECRETS + "/ours", SECRETS + "/theirs"]
