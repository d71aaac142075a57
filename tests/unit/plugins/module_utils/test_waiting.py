"""wait_ready on the shared core: option names, conditions built in per kind, retries left to k8s.Api."""

from ansible_collections.parodos.orchestrator.plugins.module_utils import readiness as rd
from ansible_collections.parodos.orchestrator.plugins.module_utils import waiting
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from tests.unit.fakes import Clock, FakeApi, real_api

SFP = "sonataflow.org/v1alpha08"
SFP_PATH = "/apis/sonataflow.org/v1alpha08/namespaces/infra/sonataflowplatforms/platform"
DEP_PATH = "/apis/apps/v1/namespaces/ns/deployments/app"
DISCOVERY = {"/apis/sonataflow.org/v1alpha08": {"resources": [
    {"name": "sonataflowplatforms", "kind": "SonataFlowPlatform", "namespaced": True}]}}


def platform(status, reason=""):
    return {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "conditions": [
        {"type": "Succeed", "status": status, "reason": reason}]}}


def deployment():
    return {"metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {
        "observedGeneration": 1, "replicas": 1, "availableReplicas": 1,
        "conditions": [{"type": "Available", "status": "True"}]}}


def test_wait_condition_and_its_alias():
    items, errors = waiting.resources_of([
        {"api_version": "example.com/v1", "kind": "Widget", "name": "a", "wait_condition": {"type": "Ready"}},
        {"api_version": "example.com/v1", "kind": "Widget", "name": "b", "wait_condition": None,
         "condition": {"type": "Done", "status": "False"}}])
    assert errors == []
    assert [i["condition"] for i in items] == [{"type": "Ready", "status": "True"}, {"type": "Done", "status": "False"}]
    assert "wait_condition" not in items[0]


def test_kinds_with_a_rule_need_no_condition():
    items, errors = waiting.resources_of([
        {"api_version": SFP, "kind": "SonataFlowPlatform", "name": "p", "namespace": "infra", "wait_condition": None},
        {"api_version": "rhdh.redhat.com/v1alpha3", "kind": "Backstage", "name": "b", "namespace": "rhdh"}])
    assert errors == []
    assert [waiting.record(i)["waited_for"] for i in items] == ["condition Succeed=True", "condition Deployed=True"]
    assert items[1]["failed"] == rd.CONDITION_RULES[("rhdh.redhat.com", "Backstage")]["failed"]


def test_a_final_failure_of_a_built_in_condition_fails_at_once():
    clock = Clock()
    api = FakeApi(dict(DISCOVERY, **{SFP_PATH: platform("False", "Failure")}), clock=clock)
    items = waiting.resources_of([{"api_version": SFP, "kind": "SonataFlowPlatform", "name": "platform",
                                   "namespace": "infra", "component": "Platform"}])[0]
    message, records, elapsed = waiting.wait_all(api, items, 600, 2, clock=clock, pause=clock.sleep)
    assert message == "Platform: SonataFlowPlatform infra/platform failed: Succeed=False (Failure)"
    assert elapsed == 0.0 and clock.slept == []


def test_transient_failures_are_retried_inside_one_read_by_the_api(monkeypatch):
    clock = Clock()
    fake = FakeApi({DEP_PATH: deployment()}, clock=clock)
    fake.inject([503, 429, 0], path=DEP_PATH)
    api = real_api(fake, monkeypatch, clock, timeout=60)
    items = waiting.resources_of([{"api_version": "apps/v1", "kind": "Deployment", "name": "app",
                                   "namespace": "ns"}])[0]
    message, records, elapsed = waiting.wait_all(api, items, 60, 2, clock=clock, pause=clock.sleep)
    assert message is None and records[0]["checks"] == 1 and records[0]["ready"] is True
    assert clock.slept == [0.25, 0.5, 1.0]  # k8s.Api's backoff, no poll of wait_all in between
    assert fake.paths() == [DEP_PATH] * 4


def test_a_failure_the_api_gave_up_on_leaves_the_resource_waiting(monkeypatch):
    clock = Clock()
    fake = FakeApi({DEP_PATH: deployment()}, clock=clock)
    fake.fail(ApiError("Service Unavailable", 503), path=DEP_PATH)
    api = real_api(fake, monkeypatch, clock, timeout=5)
    items = waiting.resources_of([{"api_version": "apps/v1", "kind": "Deployment", "name": "app",
                                   "namespace": "ns", "component": "App"}])[0]
    message, records, elapsed = waiting.wait_all(api, items, 5, 2, clock=clock, pause=clock.sleep)
    assert message.splitlines()[1].endswith("last status: no answer yet (last request failed: Service Unavailable)")
    assert clock.now == 5.0
