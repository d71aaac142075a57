"""The objects_info module: reads by name and by selector, retries, kinds not served."""

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from ansible_collections.parodos.orchestrator.plugins.modules import objects_info
from tests.unit.fakes import FakeApi, real_api

STS = "/apis/apps/v1/namespaces/db/statefulsets"
OURS = dict(k8s.OWNERSHIP_LABELS)


def statefulset(name, labels=None):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": "db", "labels": dict(labels or {})}}


def cluster():
    return FakeApi({STS + "/pg": statefulset("pg", OURS), STS + "/theirs": statefulset("theirs", {"team": "a"})})


def test_reads_one_object_by_name(run_module):
    code, result = run_module(objects_info, {"api_version": "apps/v1", "kind": "StatefulSet", "name": "pg",
                                             "namespace": "db"}, cluster())
    assert code == 0 and result["changed"] is False and result["api_found"] is True
    assert [r["metadata"]["name"] for r in result["resources"]] == ["pg"]
    code, result = run_module(objects_info, {"api_version": "apps/v1", "kind": "StatefulSet", "name": "none",
                                             "namespace": "db"}, cluster())
    assert code == 0 and result["resources"] == [] and result["api_found"] is True


def test_lists_by_selector_and_checks_a_named_object_against_it(run_module):
    api = cluster()
    selector = ["app.kubernetes.io/managed-by=parodos.orchestrator"]
    code, result = run_module(objects_info, {"api_version": "apps/v1", "kind": "StatefulSet", "namespace": "db",
                                             "label_selectors": selector}, api)
    assert [r["metadata"]["name"] for r in result["resources"]] == ["pg"]
    assert api.calls("path", "query")[-1] == (STS, {"labelSelector": selector[0]})
    code, result = run_module(objects_info, {"api_version": "apps/v1", "kind": "StatefulSet", "name": "theirs",
                                             "namespace": "db", "label_selectors": selector}, api)
    assert result["resources"] == []


def test_a_kind_not_served_gives_nothing(run_module):
    code, result = run_module(objects_info, {"api_version": "example.com/v1", "kind": "Widget"}, cluster())
    assert code == 0 and result == {"changed": False, "resources": [], "api_found": False,
                                    "invocation": result["invocation"]}


def test_transient_failures_are_retried_and_others_fail_at_once_naming_the_object(run_module, monkeypatch):
    fake = cluster()
    fake.inject([503, 429, None], method="GET")
    api = real_api(fake, monkeypatch)
    code, result = run_module(objects_info, {"api_version": "apps/v1", "kind": "StatefulSet", "name": "pg",
                                             "namespace": "db"}, api)
    assert code == 0 and [r["metadata"]["name"] for r in result["resources"]] == ["pg"]
    fake.inject([ApiError("forbidden", 403, "Forbidden")], method="GET")
    fake.requests.clear()
    code, result = run_module(objects_info, {"api_version": "apps/v1", "kind": "StatefulSet", "name": "pg",
                                             "namespace": "db"}, api)
    assert code == 1 and result["msg"] == "Reading StatefulSet/db/pg (apps/v1) failed: forbidden (HTTP 403)"
    assert len(fake.requests) == 1


def test_a_kind_known_without_discovery_but_not_served_gives_nothing(run_module):
    # Backstage's plural is known to the collection: the plain 404 of its path tells it is not served
    args = {"api_version": "rhdh.redhat.com/v1alpha1", "kind": "Backstage", "name": "developer-hub",
            "namespace": "team"}
    code, result = run_module(objects_info, args, cluster())
    assert code == 0 and result["resources"] == [] and result["api_found"] is False
    served = FakeApi(served=("/apis/rhdh.redhat.com/v1alpha1/backstages",))
    code, result = run_module(objects_info, args, served)
    assert code == 0 and result["resources"] == [] and result["api_found"] is True
