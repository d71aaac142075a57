"""remove_objects against an in-memory API: what is deleted, the wait, and the report of what is stuck."""

import copy

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import removal
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from ansible_collections.parodos.orchestrator.plugins.modules import remove_objects

OURS = {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/component": "rhdh"}
BS = "/apis/rhdh.redhat.com/v1alpha1"
DISCOVERY = {"resources": [{"name": "backstages", "kind": "Backstage", "namespaced": True}]}


def all_namespaces(collection):
    """/api/v1/namespaces/ns/secrets -> /api/v1/secrets."""
    parts = collection.split("/")
    if "namespaces" in parts[:-1]:
        index = parts.index("namespaces")
        del parts[index:index + 2]
    return "/".join(parts)


class FakeApi:
    """Objects by path; a DELETE of an object with finalizers only marks it."""

    def __init__(self, objects):
        self.objects = copy.deepcopy(objects)
        self.requests = []
        self.errors = []

    def get(self, path, query=None):
        self.requests.append(("GET", path, (query or {}).get("labelSelector")))
        if self.errors:
            raise self.errors.pop(0)
        if path == BS:
            return DISCOVERY
        if path in self.objects:
            return copy.deepcopy(self.objects[path])
        items = [copy.deepcopy(o) for p, o in sorted(self.objects.items())
                 if p.rsplit("/", 1)[0] == path
                 or all_namespaces(p.rsplit("/", 1)[0]) == path]
        if path.rsplit("/", 1)[1] not in ("secrets", "backstages"):
            raise ApiError("not found", 404)  # an object path, or an API that is not served
        wanted = dict(part.split("=") for part in ((query or {}).get("labelSelector") or "").split(",") if part)
        return {"items": [o for o in items
                          if all(o["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())]}

    def delete(self, path, dry_run=False):
        self.requests.append(("DELETE", path, dry_run))
        if path not in self.objects:
            raise ApiError("not found", 404)
        if dry_run:
            return {}
        obj = self.objects[path]
        if obj["metadata"].get("finalizers"):
            obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        else:
            del self.objects[path]
        return {}

    def deletes(self):
        return [r for r in self.requests if r[0] == "DELETE"]


def backstage(name="backstage", labels=None, finalizers=()):
    return {"metadata": {"name": name, "namespace": "rhdh", "uid": name,
                         "labels": dict(OURS if labels is None else labels), "finalizers": list(finalizers)}}


def secret(name, labels=None):
    return {"metadata": {"name": name, "namespace": "rhdh", "uid": name,
                         "labels": dict(OURS if labels is None else labels)}}


def items(*raw):
    return removal.normalize(list(raw))[0]


class Clock:
    def __init__(self, api=None, on_pause=None):
        self.now = 0.0
        self.api = api
        self.on_pause = on_pause

    def __call__(self):
        return self.now

    def pause(self, seconds):
        self.now += seconds
        if self.on_pause:
            self.on_pause(self.api)


def run(api, resources, check=False, timeout=30, on_pause=None, list_only=False):
    clock = Clock(api, on_pause)
    result = remove_objects.remove(api, items(*resources), check, timeout, 2, clock=clock, pause=clock.pause,
                                   list_only=list_only)
    result.pop("found")
    return result


SECRETS = "/api/v1/namespaces/rhdh/secrets"


def test_removes_only_what_is_ours_and_reports_the_rest():
    api = FakeApi({SECRETS + "/ours": secret("ours"), SECRETS + "/theirs": secret("theirs", {})})
    result = run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours"},
                       {"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "theirs"}])
    assert result == {"changed": True, "removed": ["Secret rhdh/ours"], "kept": ["Secret rhdh/theirs"]}
    assert list(api.objects) == [SECRETS + "/theirs"]
    assert api.deletes() == [("DELETE", SECRETS + "/ours", False)]


def test_lists_with_the_ownership_selector_and_waits_for_finalizers():
    path = BS + "/namespaces/rhdh/backstages/backstage"
    api = FakeApi({path: backstage(finalizers=["rhdh.redhat.com/finalizer"])})

    def operator(api):  # the operator removes its finalizer a few seconds later
        if api.objects.get(path, {}).get("metadata", {}).get("deletionTimestamp"):
            del api.objects[path]

    result = run(api, [{"api_version": "rhdh.redhat.com/v1alpha1", "kind": "Backstage",
                        "label_selector": "app.kubernetes.io/component=rhdh"}], on_pause=operator)
    assert result["changed"] is True and result["removed"] == ["Backstage rhdh/backstage"]
    assert ("GET", BS + "/backstages",
            "app.kubernetes.io/managed-by=parodos.orchestrator,app.kubernetes.io/component=rhdh") in api.requests
    assert api.objects == {}


def test_a_stuck_object_fails_with_its_finalizers_after_the_timeout():
    path = BS + "/namespaces/rhdh/backstages/backstage"
    api = FakeApi({path: backstage(finalizers=["rhdh.redhat.com/finalizer"])})
    result = run(api, [{"api_version": "rhdh.redhat.com/v1alpha1", "kind": "Backstage", "component": "Developer Hub"}],
                 timeout=10)
    assert result["msg"].splitlines()[1] == (
        "- Developer Hub: Backstage rhdh/backstage is still there (deleted at 2026-01-01T00:00:00Z, "
        "finalizers: rhdh.redhat.com/finalizer)")
    assert result["stuck"] == ["Backstage rhdh/backstage (deleted at 2026-01-01T00:00:00Z, "
                               "finalizers: rhdh.redhat.com/finalizer)"]


def test_check_mode_sends_dry_runs_and_lists_what_would_go():
    api = FakeApi({SECRETS + "/ours": secret("ours")})
    result = run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours"}], check=True)
    assert result == {"changed": True, "removed": ["Secret rhdh/ours"], "kept": []}
    assert api.deletes() == [("DELETE", SECRETS + "/ours", True)] and SECRETS + "/ours" in api.objects


def test_nothing_there_or_kind_not_served_changes_nothing():
    api = FakeApi({})
    result = run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "gone"},
                       {"api_version": "sonataflow.org/v1alpha08", "kind": "SonataFlow"}])
    assert result == {"changed": False, "removed": [], "kept": []} and api.deletes() == []


def test_an_object_already_being_deleted_is_waited_for_without_a_new_delete():
    path = SECRETS + "/ours"
    obj = secret("ours")
    obj["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z", finalizers=["x"])
    api = FakeApi({path: obj})
    result = run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours"}],
                 on_pause=lambda api: api.objects.pop(path, None))
    assert result["changed"] is False and result["removed"] == ["Secret rhdh/ours"] and api.deletes() == []


def test_transient_errors_while_waiting_are_retried_others_raise():
    path = SECRETS + "/ours"
    obj = secret("ours")
    obj["metadata"]["finalizers"] = ["x"]
    api = FakeApi({path: obj})
    calls = {"n": 0}

    def flaky(api):
        calls["n"] += 1
        if calls["n"] == 1:
            api.errors.append(ApiError("unavailable", 503))
        else:
            api.objects.pop(path, None)

    assert run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours"}],
               on_pause=flaky)["removed"] == ["Secret rhdh/ours"]
    api = FakeApi({path: obj})
    with pytest.raises(ApiError):
        run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours"}],
            on_pause=lambda api: api.errors.append(ApiError("forbidden", 403)))


def test_named_object_must_match_the_selector_too():
    api = FakeApi({SECRETS + "/ours": secret("ours")})
    result = run(api, [{"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours",
                        "label_selector": "app.kubernetes.io/component=postgresql"}])
    assert result["removed"] == [] and api.deletes() == []


def test_list_only_finds_without_deleting():
    api = FakeApi({SECRETS + "/ours": secret("ours"), SECRETS + "/theirs": secret("theirs", {})})
    resources = items({"api_version": "v1", "kind": "Secret", "namespace": "rhdh"})
    result = remove_objects.remove(api, resources, False, 30, 2, list_only=True)
    assert result == {"changed": False, "removed": [], "kept": [],
                      "found": [{"kind": "Secret", "namespace": "rhdh", "name": "ours"}]}
    assert api.deletes() == [] and len(api.objects) == 2
