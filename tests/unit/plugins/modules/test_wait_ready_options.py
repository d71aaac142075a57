"""wait_ready's options as Ansible passes them: kubernetes.core's names, the old ones as aliases."""

from ansible_collections.parodos.orchestrator.plugins.modules import wait_ready
from tests.unit.fakes import FakeApi

DEP_PATH = "/apis/apps/v1/namespaces/ns/deployments/app"


def deployment():
    return {"metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {
        "observedGeneration": 1, "replicas": 1, "availableReplicas": 1,
        "conditions": [{"type": "Available", "status": "True"}]}}


RESOURCE = {"api_version": "apps/v1", "kind": "Deployment", "name": "app", "namespace": "ns", "component": "App"}


def test_kubernetes_core_option_names(run_module):
    api = FakeApi({DEP_PATH: deployment()})
    code, result = run_module(wait_ready, {"resources": [RESOURCE], "wait_timeout": 5, "wait_sleep": 0.5}, api=api)
    assert code == 0 and result["ready"] is True
    code, result = run_module(wait_ready, {"resources": [dict(RESOURCE, wait_condition={"type": "Available"})],
                                           "timeout": 5, "sleep": 0.5}, api=api)
    assert code == 0 and result["resources"][0]["waited_for"] == "condition Available=True"
    code, result = run_module(wait_ready, {"resources": [RESOURCE], "wait_sleep": 0})
    assert code == 1 and result["msg"] == "Invalid options: sleep must be greater than 0"


def test_an_unusable_connection_fails_once(run_module):
    calls = []

    def connect(module):
        calls.append(module.params["wait_timeout"])
        return None, ("no configuration found", 0, "https://h:6443")
    code, result = run_module(wait_ready, {"resources": [RESOURCE], "timeout": 30}, connect=connect)
    assert code == 1 and calls == [30]
    assert result["msg"] == "Cannot reach the Kubernetes API at https://h:6443: no configuration found"
    assert result["elapsed"] == 0.0 and result["ready"] is False
