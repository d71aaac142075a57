"""The wait_ready polling loop with a fake API and a fake clock, and main() as Ansible runs it."""

from ansible_collections.parodos.orchestrator.plugins.module_utils import readiness as rd
from ansible_collections.parodos.orchestrator.plugins.module_utils import waiting
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from ansible_collections.parodos.orchestrator.plugins.modules import wait_ready
from tests.unit.fakes import Clock, FakeApi

DISCOVERY = {
    "/apis/apps/v1": {"resources": [{"name": "deployments", "kind": "Deployment", "namespaced": True},
                                    {"name": "deployments/status", "kind": "Deployment", "namespaced": True}]},
    "/apis/batch/v1": {"resources": [{"name": "jobs", "kind": "Job", "namespaced": True}]},
    "/apis/sonataflow.org/v1alpha08": {"resources": [
        {"name": "sonataflowclusterplatforms", "kind": "SonataFlowClusterPlatform", "namespaced": False}]},
}
DEP_PATH = "/apis/apps/v1/namespaces/ns/deployments/"
CP_PATH = "/apis/sonataflow.org/v1alpha08/sonataflowclusterplatforms/cp"
START = 100.0


def cluster(objects=None, discovery=None):
    """A clock at START and an API holding the discovery documents and ``objects``."""
    clock = Clock(START)
    api = FakeApi(dict(DISCOVERY if discovery is None else discovery, **(objects or {})), clock=clock)
    return api, clock


def deployment(ready):
    return {"metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {
        "observedGeneration": 1, "replicas": 1, "availableReplicas": 1 if ready else 0,
        "unavailableReplicas": 0 if ready else 1,
        "conditions": [{"type": "Available", "status": "True" if ready else "False"}]}}


def ready_deployment(api, clock, name, after):
    """Deployment ``name``, not ready until ``after`` seconds from START."""
    api.objects[DEP_PATH + name] = deployment(False)
    clock.at(START + after, lambda: api.objects.__setitem__(DEP_PATH + name, deployment(True)))


def item(name, kind="Deployment", api_version="apps/v1", namespace="ns", condition=None):
    return rd.normalize([{"api_version": api_version, "kind": kind, "name": name, "namespace": namespace,
                          "component": name.title(), "condition": condition}])[0][0]


def wait(api, clock, items, timeout=60, sleep=1):
    return waiting.wait_all(api, items, timeout, sleep, clock=clock, pause=clock.sleep)


def test_resources_are_polled_together():
    api, clock = cluster()
    ready_deployment(api, clock, "slow", 5)
    ready_deployment(api, clock, "fast", 2)
    message, records, elapsed = wait(api, clock, [item("slow"), item("fast")])
    assert message is None
    assert elapsed == 5.0
    slow, fast = records
    assert (slow["ready"], slow["ready_after"], slow["checks"]) == (True, 5.0, 6)
    assert (fast["ready"], fast["ready_after"], fast["checks"]) == (True, 2.0, 3)
    reads = [path.rsplit("/", 1)[1] for path in api.paths() if path.startswith(DEP_PATH)]
    assert reads[:6] == ["slow", "fast"] * 3  # both in every cycle until ready
    assert reads[6:] == ["slow"] * 3
    assert not [path for path in api.paths() if not path.startswith(DEP_PATH)]  # no discovery
    assert api.paths("GET") == api.paths() and api.writes() == []


def test_timeout_lists_what_is_not_ready():
    api, clock = cluster()
    ready_deployment(api, clock, "stuck", 1000)
    ready_deployment(api, clock, "fine", 0)
    message, records, elapsed = wait(api, clock, [item("stuck"), item("fine"), item("gone")], timeout=10, sleep=3)
    assert message.splitlines() == [
        "Timed out after 10s: 2 of 3 resource(s) not ready:",
        "- Stuck: Deployment ns/stuck: waiting for Deployment Available with all replicas available; "
        "last status: Available=False; replicas 0/1 available, 0 updated, 1 unavailable",
        "- Gone: Deployment ns/gone: waiting for Deployment Available with all replicas available; "
        "last status: not found",
    ]
    assert elapsed == 10.0
    assert clock.slept == [3, 3, 3, 1]  # the last pause stops at the deadline
    assert [r["ready"] for r in records] == [False, True, False]
    assert records[0]["conditions"] == [{"type": "Available", "status": "False"}]


def test_transient_errors_are_retried():
    api, clock = cluster({DEP_PATH + "app": deployment(True)})
    api.inject([ApiError("Service Unavailable", 503), ApiError("connection reset", 0),
                ApiError("Too Many Requests", 429)], path=DEP_PATH + "app")
    message, records, elapsed = wait(api, clock, [item("app")])
    assert message is None and records[0]["checks"] == 4 and "last_error" not in records[0]
    assert api.pending() == 0 and api.paths() == [DEP_PATH + "app"] * 4


def test_transient_error_is_named_on_timeout():
    api, clock = cluster({DEP_PATH + "app": deployment(True)})
    api.fail(ApiError("Internal error", 500), path=DEP_PATH + "app")
    message, records, elapsed = wait(api, clock, [item("app")], timeout=2)
    assert message.splitlines()[1].endswith("last status: no answer yet (last request failed: Internal error)")


def test_builtin_kinds_are_read_without_discovery():
    api, clock = cluster(discovery={})
    items = [item("app"), item("db", "StatefulSet"), item("migrate", "Job", "batch/v1"),
             item("ks", "KnativeServing", "operator.knative.dev/v1beta1", condition={"type": "Ready"})]
    items[0]["condition"] = {"type": "Available", "status": "True"}  # a condition keeps the known path
    message, records, elapsed = wait(api, clock, items, timeout=0)
    assert api.paths() == [
        DEP_PATH + "app", "/apis/apps/v1/namespaces/ns/statefulsets/db",
        "/apis/batch/v1/namespaces/ns/jobs/migrate", "/apis/operator.knative.dev/v1beta1"]
    assert [r["status"] for r in records] == [
        "not found", "not found", "not found", "API operator.knative.dev/v1beta1 is not served"]


def test_transient_discovery_error_is_retried():
    ready = {"status": {"conditions": [{"type": "Succeed", "status": "True"}]}}
    api, clock = cluster({CP_PATH: ready})
    api.inject([ApiError("boom", 502)], path="/apis/sonataflow.org/v1alpha08")
    cp = item("cp", "SonataFlowClusterPlatform", "sonataflow.org/v1alpha08", namespace="", condition={"type": "Succeed"})
    message, records, elapsed = wait(api, clock, [cp])
    assert message is None and records[0]["checks"] == 2
    assert api.pending() == 0


def test_forbidden_stops_at_once():
    api, clock = cluster({DEP_PATH + "app": deployment(True)})
    api.fail(ApiError('deployments "app" is forbidden', 403), path=DEP_PATH + "app")
    message, records, elapsed = wait(api, clock, [item("app")])
    assert message == 'App: reading Deployment ns/app failed: deployments "app" is forbidden'
    assert elapsed == 0.0


def test_failed_job_stops_at_once():
    failed = {"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}}
    api, clock = cluster({"/apis/batch/v1/namespaces/ns/jobs/migrate": failed})
    ready_deployment(api, clock, "app", 1000)
    message, records, elapsed = wait(api, clock, [item("app"), item("migrate", "Job", "batch/v1")])
    assert message == "Migrate: Job ns/migrate failed: Failed=True (BackoffLimitExceeded)"
    assert elapsed == 0.0


def test_cluster_scoped_kind_ignores_the_namespace_and_unserved_api_waits():
    discovery = dict(DISCOVERY)
    del discovery["/apis/sonataflow.org/v1alpha08"]  # not served yet
    api, clock = cluster({CP_PATH: {"status": {"conditions": [{"type": "Succeed", "status": "True"}]}}}, discovery)
    cp = item("cp", "SonataFlowClusterPlatform", "sonataflow.org/v1alpha08", namespace="ignored",
              condition={"type": "Succeed"})
    clock.at(103, lambda: api.objects.__setitem__("/apis/sonataflow.org/v1alpha08",
                                                  DISCOVERY["/apis/sonataflow.org/v1alpha08"]))
    message, records, elapsed = wait(api, clock, [cp])
    assert message is None and records[0]["ready_after"] == 3.0
    assert records[0]["namespace"] == ""
    assert (103.0, CP_PATH) in api.calls("at", "path")
    assert CP_PATH not in [path for at, path in api.calls("at", "path") if at < 103]


def test_kind_missing_from_discovery_is_reported():
    api, clock = cluster()
    message, records, elapsed = wait(api, clock, [item("x", "ControllerRevision", condition={"type": "Ready"})],
                                     timeout=1)
    assert message.splitlines()[1].endswith("last status: kind ControllerRevision is not served by apps/v1")
    # read again each cycle: a CRD may add the kind meanwhile
    assert api.calls("at", "path") == [(100.0, "/apis/apps/v1"), (101.0, "/apis/apps/v1")]


def test_namespaced_kind_without_namespace_stops():
    api, clock = cluster()
    message, records, elapsed = wait(api, clock, [item("app", namespace="")])
    assert message == "App: Deployment app is namespaced: set its namespace"


# ------------------------------------------------------------------ main()

RESOURCES = [{"api_version": "apps/v1", "kind": "Deployment", "name": "app", "namespace": "ns", "component": "App"},
             {"apiVersion": "operator.knative.dev/v1beta1", "kind": "KnativeServing", "name": "ks",
              "namespace": "knative-serving", "condition": {"type": "Ready", "status": True}}]


def test_check_mode_returns_at_once(run_module):
    code, result = run_module(wait_ready, {"resources": RESOURCES}, check=True)
    assert code == 0 and result["changed"] is False and result["ready"] is False
    assert [(r["component"], r["checks"], r["status"]) for r in result["resources"]] == [
        ("App", 0, "not checked in check mode"), ("KnativeServing ks", 0, "not checked in check mode")]
    assert result["resources"][1]["waited_for"] == "condition Ready=True"


def test_invalid_options_fail_before_connecting(run_module):
    args = {"resources": [{"api_version": "v1", "kind": "ConfigMap", "name": "c", "namespace": "n"}], "sleep": 0}
    code, result = run_module(wait_ready, args)
    assert code == 1
    assert result["msg"] == ("Invalid options: resources[0] (ConfigMap c): kind ConfigMap has no default readiness "
                             "check: set condition.type; sleep must be greater than 0")


def test_main_waits_and_reports(run_module):
    api, clock = cluster({DEP_PATH + "app": deployment(True)})
    code, result = run_module(wait_ready, {"resources": RESOURCES[:1]}, api=api)
    assert code == 0, result
    assert result["changed"] is False and result["ready"] is True
    assert result["resources"][0]["ready"] is True and result["resources"][0]["checks"] == 1


def test_main_fails_on_timeout(run_module):
    api, clock = cluster()
    code, result = run_module(wait_ready, {"resources": RESOURCES[:1], "timeout": 0}, api=api)
    assert code == 1 and result["ready"] is False and result["changed"] is False
    assert result["msg"].startswith("Timed out after 0s: 1 of 1 resource(s) not ready:\n- App: Deployment ns/app")
    assert result["resources"][0]["status"] == "not found"
