"""remove_objects on the shared core: kubernetes.core's option names, polling on waiter, retries left to k8s.Api."""

from ansible_collections.parodos.orchestrator.plugins.module_utils import removal
from ansible_collections.parodos.orchestrator.plugins.modules import remove_objects
from tests.unit.fakes import Clock, FakeApi, real_api

PATH = "/api/v1/namespaces/rhdh/secrets/ours"
OURS = {"app.kubernetes.io/managed-by": "parodos.orchestrator"}
RESOURCE = {"api_version": "v1", "kind": "Secret", "namespace": "rhdh", "name": "ours"}


def secret(finalizers=()):
    return {"metadata": {"name": "ours", "namespace": "rhdh", "uid": "u1", "labels": dict(OURS),
                         "finalizers": list(finalizers)}}


def test_polls_until_the_deadline_and_names_what_is_stuck():
    clock = Clock()
    api = FakeApi({PATH: secret(["x"])}, clock=clock)
    result = removal.remove(api, removal.normalize([RESOURCE])[0], False, 5, 2, clock=clock, pause=clock.sleep)
    assert clock.slept == [2, 2, 1]  # the last pause stops at the deadline
    assert result["msg"].splitlines()[0] == "Timed out after 5s: 1 of 1 object(s) not removed:"
    assert result["stuck"] == ["Secret rhdh/ours (deleted at 2026-01-01T00:00:00Z, finalizers: x)"]
    assert [r.at for r in api.requests if r.method == "GET"] == [0, 0, 2, 4, 5]


def test_a_transient_failure_of_the_delete_is_retried_by_the_api(monkeypatch):
    clock = Clock()
    fake = FakeApi({PATH: secret()}, clock=clock)
    fake.inject([503, 500], method="DELETE")
    api = real_api(fake, monkeypatch, clock, timeout=60)
    result = removal.remove(api, removal.normalize([RESOURCE])[0], False, 30, 2, clock=clock, pause=clock.sleep)
    assert result["removed"] == ["Secret rhdh/ours"] and "msg" not in result
    assert fake.writes() == [("DELETE", PATH, False)] * 3 and PATH not in fake.objects
    assert clock.slept == [0.25, 0.5]


def test_kubernetes_core_option_names_and_the_old_ones(run_module):
    for args in ({"wait_timeout": 10, "wait_sleep": 1}, {"timeout": 10, "sleep": 1}):
        api = FakeApi({PATH: secret()})
        code, result = run_module(remove_objects, dict(args, resources=[RESOURCE]), api=api)
        assert code == 0 and result["removed"] == ["Secret rhdh/ours"], result
        assert PATH not in api.objects
    code, result = run_module(remove_objects, {"resources": [RESOURCE], "wait_timeout": -1})
    assert code == 1 and result["msg"] == "Invalid options: timeout must not be negative"
