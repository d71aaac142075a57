"""The fake API answers as the API server does, and the fake clock moves only when slept on."""

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from tests.unit.fakes import DELETION_TIME, SSAR, Clock, FakeApi, parse, preflight_api, real_api

NS = "/api/v1/namespaces"
SECRETS = NS + "/db/secrets"
ROUTES = "/apis/route.openshift.io/v1/namespaces/gitops/routes"


def secret(name, labels=None, **meta):
    return {"metadata": dict(meta, name=name, labels=labels or {}), "data": {"k": "dg=="}}


def error_of(call):
    with pytest.raises(ApiError) as exc:
        call()
    return exc.value


def test_parse():
    assert parse("/api/v1/namespaces/db/secrets/s") == ("/api/v1", "db", "secrets", "s")
    assert parse("/api/v1/namespaces/db/secrets") == ("/api/v1", "db", "secrets", None)
    assert parse("/api/v1/namespaces/db") == ("/api/v1", None, "namespaces", "db")
    assert parse("/apis/apps/v1/deployments") == ("/apis/apps/v1", None, "deployments", None)
    assert parse("/apis/apps/v1") is None and parse("/version") is None


def test_get_answers_a_copy_of_what_is_stored():
    api = FakeApi({SECRETS + "/s": secret("s")})
    got = api.get(SECRETS + "/s")
    got["data"]["k"] = "changed"
    assert api.objects[SECRETS + "/s"]["data"]["k"] == "dg=="
    assert api.calls("method", "path", "query") == [("GET", SECRETS + "/s", None)]


def test_missing_objects_and_unserved_apis_are_404s_told_apart():
    api = FakeApi({"/apis/x.io/v1": {"resources": [{"name": "things", "kind": "Thing", "namespaced": True}]}})
    missing = error_of(lambda: api.get(SECRETS + "/nope"))
    assert (missing.status, missing.reason, str(missing)) == (404, "NotFound", 'secrets "nope" not found')
    assert not missing.not_served
    assert error_of(lambda: api.get("/apis/x.io/v1/namespaces/a/things/t")).reason == "NotFound"
    for path in ("/apis/y.io/v1/namespaces/a/things/t", "/apis/y.io/v1", "/apis/y.io/v1/things"):
        assert error_of(lambda: api.get(path)).not_served, path


def test_lists_filter_by_namespace_labels_and_fields():
    api = FakeApi({SECRETS + "/a": secret("a", {"app": "x", "tier": "db"}), SECRETS + "/b": secret("b", {"app": "y"}),
                   NS + "/other/secrets/c": secret("c", {"app": "x"})})

    def names(path, **query):
        return [o["metadata"]["name"] for o in api.get(path, query or None)["items"]]

    assert names(SECRETS) == ["a", "b"]
    assert names("/api/v1/secrets") == ["a", "b", "c"]
    assert names("/api/v1/secrets", labelSelector="app=x") == ["a", "c"]
    assert names(SECRETS, labelSelector="app=x,tier==db") == ["a"]
    assert names(SECRETS, labelSelector="app!=x") == ["b"]
    assert names(SECRETS, labelSelector="tier") == ["a"] and names(SECRETS, labelSelector="!tier") == ["b"]
    assert names("/api/v1/secrets", fieldSelector="metadata.name=c") == ["c"]
    assert names(NS + "/empty/configmaps") == []
    assert error_of(lambda: api.get(ROUTES)).not_served
    assert FakeApi(served=(ROUTES,)).get(ROUTES) == {"items": []}


def test_a_namesake_is_listed_but_not_read_by_name():
    pm = "/apis/packages.operators.coreos.com/v1/namespaces/market/packagemanifests"
    api = FakeApi({pm + "/pkg": {"metadata": {"name": "pkg", "labels": {"catalog": "a"}}},
                   pm + "/pkg#b": {"metadata": {"name": "pkg", "labels": {"catalog": "b"}}}})
    assert api.get(pm + "/pkg")["metadata"]["labels"] == {"catalog": "a"}
    listed = api.get(pm, {"fieldSelector": "metadata.name=pkg", "labelSelector": "catalog=b"})["items"]
    assert listed == [{"metadata": {"name": "pkg", "labels": {"catalog": "b"}}}]
    assert len(api.get(pm)["items"]) == 2


def test_a_secret_is_stored_with_its_string_data_encoded():
    api = FakeApi(namespaces=("db",))
    created = api.create(SECRETS, {"metadata": {"name": "s"}, "data": {"k": "dg=="}, "stringData": {"p": "pw"}})
    assert created == api.objects[SECRETS + "/s"] and "stringData" not in created
    assert (created["data"], created["type"]) == ({"k": "dg==", "p": "cHc="}, "Opaque")
    patched = api.merge_patch(SECRETS + "/s", {"stringData": {"k": "new"}})
    assert patched["data"] == {"k": "bmV3", "p": "cHc="} and "stringData" not in patched
    api.create(NS + "/db/configmaps", {"metadata": {"name": "c"}, "stringData": {"a": "b"}})
    assert api.objects[NS + "/db/configmaps/c"]["stringData"] == {"a": "b"}  # Secrets only
    assert "type" not in api.objects[NS + "/db/configmaps/c"]


def test_create_checks_the_namespace_and_the_name():
    api = FakeApi(namespaces=("db",))
    created = api.create(SECRETS, secret("s"))
    stored = api.objects[SECRETS + "/s"]
    assert created == stored and stored["metadata"]["namespace"] == "db"
    assert stored["metadata"]["uid"] and stored["metadata"]["resourceVersion"]
    exists = error_of(lambda: api.create(SECRETS, secret("s")))
    assert (exists.status, exists.reason) == (409, "AlreadyExists")
    missing = error_of(lambda: api.create(NS + "/gone/secrets", secret("s"), dry_run=True))
    assert (missing.status, missing.reason, str(missing)) == (404, "NotFound", 'namespaces "gone" not found')
    api.objects[NS + "/old"] = {"metadata": {"name": "old", "deletionTimestamp": DELETION_TIME}}
    assert error_of(lambda: api.create(NS + "/old/secrets", secret("s"))).status == 403
    assert error_of(lambda: api.create("/apis/y.io/v1/things", {"metadata": {"name": "t"}})).not_served
    api.create(NS, {"metadata": {"name": "new"}})  # cluster-scoped: no namespace to check
    assert NS + "/new" in api.objects


def test_dry_runs_check_the_same_and_store_nothing():
    api = FakeApi({SECRETS + "/s": secret("s", finalizers=["f"])}, namespaces=("db",))
    before = {p: dict(o) for p, o in api.objects.items()}
    api.create(SECRETS, secret("t"), dry_run=True)
    api.merge_patch(SECRETS + "/s", {"data": {"k": None}}, dry_run=True)
    api.delete(SECRETS + "/s", dry_run=True)
    assert api.objects == before
    assert api.writes() == [("POST", SECRETS, True), ("PATCH", SECRETS + "/s", True),
                            ("DELETE", SECRETS + "/s", True)]
    assert error_of(lambda: api.delete(SECRETS + "/gone", dry_run=True)).reason == "NotFound"


def test_merge_patch_is_rfc_7386_with_resource_version_preconditions():
    api = FakeApi({SECRETS + "/s": {"metadata": {"name": "s", "resourceVersion": "7", "labels": {"a": "1"}},
                                    "data": {"k": "v", "x": "y"}}})
    out = api.merge_patch(SECRETS + "/s", {"metadata": {"labels": {"b": "2"}}, "data": {"x": None, "n": "m"}})
    assert out["metadata"]["labels"] == {"a": "1", "b": "2"} and out["data"] == {"k": "v", "n": "m"}
    assert out == api.objects[SECRETS + "/s"] and out["metadata"]["resourceVersion"] != "7"
    stale = error_of(lambda: api.merge_patch(SECRETS + "/s", {"metadata": {"resourceVersion": "7"}}))
    assert (stale.status, stale.reason) == (409, "Conflict")
    current = api.objects[SECRETS + "/s"]["metadata"]["resourceVersion"]
    api.merge_patch(SECRETS + "/s", {"metadata": {"resourceVersion": current}, "data": {"k": "w"}})
    assert api.objects[SECRETS + "/s"]["data"]["k"] == "w"
    assert error_of(lambda: api.merge_patch(SECRETS + "/gone", {})).reason == "NotFound"


def test_delete_with_finalizers_marks_until_the_last_one_goes():
    api = FakeApi({SECRETS + "/f": secret("f", finalizers=["a", "b"]), SECRETS + "/p": secret("p")})
    assert api.delete(SECRETS + "/p")["status"] == "Success" and SECRETS + "/p" not in api.objects
    api.delete(SECRETS + "/f")
    assert api.objects[SECRETS + "/f"]["metadata"]["deletionTimestamp"] == DELETION_TIME
    api.merge_patch(SECRETS + "/f", {"metadata": {"finalizers": ["b"]}})
    assert SECRETS + "/f" in api.objects
    api.merge_patch(SECRETS + "/f", {"metadata": {"finalizers": None}})
    assert SECRETS + "/f" not in api.objects


def test_injected_failures_and_hooks():
    api = FakeApi({SECRETS + "/s": secret("s")})
    api.inject([503, None, ApiError("boom", 500)], method="GET", path=SECRETS + "/s")
    first = error_of(lambda: api.get(SECRETS + "/s"))
    assert (first.status, first.reason) == (503, "ServiceUnavailable") and api.pending() == 2
    api.get(SECRETS + "/s")
    assert str(error_of(lambda: api.get(SECRETS + "/s"))) == "boom" and api.pending() == 0
    api.get(SECRETS + "/s")
    api.fail(ApiError("forbidden", 403), method="DELETE")
    for dummy in range(3):
        assert error_of(lambda: api.delete(SECRETS + "/s")).status == 403
    api.fail(lambda request: ApiError("saw %s" % request.body["v"], 422), method="POST", times=1)
    assert str(error_of(lambda: api.post(SECRETS, {"v": 1}))) == "saw 1"
    assert api.pending() == 0
    seen = []
    api.on_request(lambda api: seen.append(len(api.requests)), method="GET", times=2)
    for dummy in range(3):
        api.get(SECRETS + "/s")
    assert seen == [len(api.requests) - 2, len(api.requests) - 1]
    assert SECRETS + "/s" in api.objects  # the failed deletes deleted nothing


def test_a_lost_answer_is_served_then_failed():
    api = FakeApi(namespaces=("db",))
    api.lose_answers(method="POST", path=SECRETS)
    assert api.pending() == 1
    lost = error_of(lambda: api.create(SECRETS, secret("s")))
    assert (lost.status, lost.reason) == (0, "") and SECRETS + "/s" in api.objects
    assert api.pending() == 0
    exists = error_of(lambda: api.create(SECRETS, secret("s")))  # the retry
    assert (exists.status, exists.reason) == (409, "AlreadyExists")
    api.lose_answers(ApiError("gateway", 504), method="PATCH", times=2)
    for dummy in range(2):
        assert error_of(lambda: api.merge_patch(SECRETS + "/s", {"data": {"n": "bg=="}})).status == 504
    assert api.merge_patch(SECRETS + "/s", {})["data"] == {"k": "dg==", "n": "bg=="}
    api.lose_answers(method="DELETE")
    assert error_of(lambda: api.delete(SECRETS + "/s")).status == 0 and SECRETS + "/s" not in api.objects
    assert api.calls() == [("POST", SECRETS), ("POST", SECRETS)] + [("PATCH", SECRETS + "/s")] * 3 + [
        ("DELETE", SECRETS + "/s")]


def test_log_views():
    clock = Clock(5)
    api = FakeApi(clock=clock, namespaces=("db",))
    api.create(SECRETS, secret("s"), dry_run=True)
    clock.sleep(2)
    api.get(SECRETS, {"labelSelector": "a=b"})
    assert api.calls() == [("POST", SECRETS), ("GET", SECRETS)]
    assert api.calls("at", "query") == [(5.0, None), (7.0, {"labelSelector": "a=b"})]
    assert api.paths("GET") == [SECRETS] and api.writes() == [("POST", SECRETS, True)]
    assert api.bodies() == [secret("s")]
    assert api.under(NS) == {NS + "/db": {"metadata": {"name": "db"}}}


def test_clock_moves_only_when_slept_on_and_runs_what_is_due():
    clock = Clock(100)
    seen = []
    clock.at(103, lambda: seen.append(("at", clock())))
    clock.after(1, lambda: seen.append(("after", clock())))
    clock.on_sleep(lambda: seen.append(("slept", clock())))
    clock.at(50, lambda: seen.append(("past", clock())))  # already due: at once
    assert seen == [("past", 100.0)] and clock() == clock.monotonic() == 100.0
    clock.sleep(2)
    clock.sleep(2)
    assert seen == [("past", 100.0), ("after", 102.0), ("slept", 102.0), ("at", 104.0), ("slept", 104.0)]
    assert clock.slept == [2, 2] and clock.elapsed() == 4.0


def test_real_api_retries_on_the_fake_clock(monkeypatch):
    fake = FakeApi({SECRETS + "/s": secret("s")}, namespaces=("db",))
    fake.inject([503, 0], method="GET")
    clock = Clock()
    api = real_api(fake, monkeypatch, clock, timeout=30)
    assert api.get(SECRETS + "/s")["metadata"]["name"] == "s"
    assert clock.slept == [0.25, 0.5] and api.requests == 3
    api.create(SECRETS, secret("t"), dry_run=True)
    api.merge_patch(SECRETS + "/s", {"data": {"k": None}})
    api.delete(SECRETS + "/s", dry_run=True)
    assert fake.writes() == [("POST", SECRETS, True), ("PATCH", SECRETS + "/s", False),
                             ("DELETE", SECRETS + "/s", True)]
    assert fake.objects[SECRETS + "/s"]["data"] == {} and api.host == fake.host
    assert k8s.read(api, SECRETS + "/gone") is None
    fake.lose_answers(method="POST")
    with pytest.raises(ApiError) as exc:
        api.create(SECRETS, secret("u"))  # stored, its answer lost, retried: the retry finds it
    assert (exc.value.status, exc.value.reason) == (409, "AlreadyExists") and SECRETS + "/u" in fake.objects
    assert fake.writes()[-2:] == [("POST", SECRETS, False)] * 2 and clock.slept[-1] == 0.25


def test_preflight_api_answers_access_reviews():
    api = preflight_api(allowed=False)
    assert api.post(SSAR, {"spec": {}})["status"] == {"allowed": False}
    assert api.get("/version")["gitVersion"].startswith("v1.29")
    assert error_of(lambda: preflight_api(unreachable=True).get("/version")).status == 0
