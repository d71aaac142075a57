"""wait_ready against the local test cluster: together, failures, transient errors, check mode."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.cluster.crds import get_crd
from tests.helpers import play_recap, run_module

KS_API = "operator.knative.dev/v1beta1"
APP = "default"


def deployment(name, namespace=APP):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main", "image": "example/app:1"}]}}}}


def statefulset(name, namespace=APP):
    obj = deployment(name, namespace)
    obj["kind"] = "StatefulSet"
    obj["spec"]["serviceName"] = name
    return obj


def job(name, namespace=APP):
    # backoffLimit 0: a real Job controller retries a failed Pod for minutes otherwise
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": namespace},
            "spec": {"backoffLimit": 0,
                     "template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "main", "image": "example/job:1"}]}}}}


def knative_serving():
    return {"apiVersion": KS_API, "kind": "KnativeServing",
            "metadata": {"name": "knative-serving", "namespace": "knative-serving"}, "spec": {}}


KS_ITEM = {"api_version": KS_API, "kind": "KnativeServing", "name": "knative-serving",
           "namespace": "knative-serving", "component": "Knative Serving", "condition": {"type": "Ready"}}


def item(obj, component):
    meta = obj["metadata"]
    return {"api_version": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
            "namespace": meta["namespace"], "component": component}


def eventually(check, timeout=30.0):
    """Poll ``check`` until it returns something truthy (setup helper, not an assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in %ss" % timeout)


def with_knative_operator(cluster):
    """Knative CRDs, the knative-serving namespace and an Available Knative operator Deployment."""
    store = cluster.store
    for name in ("knativeservings.operator.knative.dev", "knativeeventings.operator.knative.dev"):
        store.create(get_crd(name, cluster.config.crds_dir), manager="test")
    for ns in ("openshift-serverless", "knative-serving"):
        store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, manager="test")
    store.create(deployment("knative-openshift", "openshift-serverless"), manager="test")

    def available():
        dep = store.get("apps/v1", "Deployment", "knative-openshift", "openshift-serverless")
        return any(c["type"] == "Available" and c["status"] == "True"
                   for c in (dep.get("status") or {}).get("conditions") or [])
    eventually(available)


def run(cluster, tmp_path, resources, create=(), check=False, **options):
    """Optionally create objects (in the same play), then wait_ready; returns (output, result)."""
    before = [{"name": "Create the objects", "kubernetes.core.k8s": {"definition": list(create)}}] if create else []
    return run_module(cluster, tmp_path, "wait_ready", {"resources": resources, "sleep": 0.2, **options},
                      check=check, before=before)


def by_name(result):
    return {r["name"]: r for r in result["resources"]}


def test_waits_for_several_together(cluster_factory, tmp_path):
    cluster = cluster_factory(delays={"workloads": 0.3, "knative": 4.0})
    with_knative_operator(cluster)
    objects = [knative_serving(), deployment("app"), statefulset("db"), job("setup")]
    # the slow custom resource is listed first: waiting one after the other
    # would only see the Deployment ready after the KnativeServing
    resources = [KS_ITEM, item(objects[1], "App"), item(objects[2], "Database"), item(objects[3], "Setup job")]
    output, result = run(cluster, tmp_path, resources, create=objects, timeout=60)
    assert result.get("failed") is not True, result
    assert result["ready"] is True and result["changed"] is False
    rows = by_name(result)
    assert all(r["ready"] for r in rows.values())
    ks = rows["knative-serving"]
    assert ks["checks"] >= 2, ks  # it was seen not ready at least once
    assert ks["status"] == "Ready=True" and ks["waited_for"] == "condition Ready=True"
    for name in ("app", "db", "setup"):
        assert rows[name]["ready_after"] < ks["ready_after"], rows
    assert result["elapsed"] >= max(r["ready_after"] for r in rows.values())
    assert {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
            "message": "Deployment has minimum availability."} in rows["app"]["conditions"]
    assert play_recap(output)["changed"] == 1  # the create task only


def test_never_ready_fails_within_timeout_with_last_status(cluster_factory, tmp_path):
    cluster = cluster_factory(never_ready={"KnativeServing", "Deployment/stuck"})
    with_knative_operator(cluster)
    cluster.store.create(knative_serving(), manager="test")
    cluster.store.create(deployment("stuck"), manager="test")
    cluster.store.create(deployment("fine"), manager="test")
    resources = [KS_ITEM, item(deployment("stuck"), "Stuck app"), item(deployment("fine"), "Fine app"),
                 {"api_version": "apps/v1", "kind": "Deployment", "name": "absent", "namespace": APP,
                  "component": "Missing app"}]
    output, result = run(cluster, tmp_path, resources, timeout=2)
    assert result["failed"] is True and result["ready"] is False
    lines = result["msg"].splitlines()
    assert lines[0] == "Timed out after 2s: 3 of 4 resource(s) not ready:"
    assert lines[1] == ("- Knative Serving: KnativeServing knative-serving/knative-serving: waiting for "
                        "condition Ready=True; last status: Ready=False (NotReady: Waiting on deployments: "
                        "activator, autoscaler, autoscaler-hpa, controller, webhook)")
    assert lines[2].startswith("- Stuck app: Deployment default/stuck: waiting for Deployment Available")
    assert ("last status: Available=False (MinimumReplicasUnavailable: Deployment does not have minimum "
            "availability.); replicas 0/1 available") in lines[2]
    assert lines[3] == ("- Missing app: Deployment default/absent: waiting for Deployment Available with all "
                        "replicas available; last status: not found")
    rows = by_name(result)
    assert rows["fine"]["ready"] is True and rows["stuck"]["ready"] is False
    assert rows["absent"]["status"] == "not found"


def test_failed_job_fails_at_once(cluster_factory, tmp_path):
    cluster = cluster_factory(failing_jobs={"migrate"})
    cluster.store.create(job("migrate"), manager="test")
    output, result = run(cluster, tmp_path, [item(job("migrate"), "Database migration")], timeout=300)
    assert result["failed"] is True
    assert result["msg"].startswith("Database migration: Job default/migrate failed: Failed=True (BackoffLimitExceeded")
    assert result["elapsed"] < 300


def test_transient_errors_are_retried(cluster_factory, tmp_path):
    cluster = cluster_factory(never_ready={"Deployment"})
    for name in ("one", "two"):
        cluster.store.create(deployment(name), manager="test")
    cluster.set_faults(error_rate=0.3, error_codes=(500, 503, 429), seed=7, methods=("GET",))
    resources = [item(deployment("one"), "One"), item(deployment("two"), "Two")]

    def failed_reads():
        return [e for e in cluster.requests.find("GET", "/namespaces/default/deployments/") if e.status != 200]

    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(run, cluster, tmp_path, resources, timeout=120)
        # the Deployments become ready only once the module has met several errors reading them
        eventually(lambda: len(failed_reads()) >= 3 or waiting.done(), timeout=100)
        cluster.config.never_ready = frozenset()
        output, result = waiting.result()
    cluster.set_faults()
    assert result.get("failed") is not True, result
    assert result["ready"] is True
    assert {e.status for e in failed_reads()} <= {500, 503, 429}
    assert len(failed_reads()) >= 3


def test_check_mode_returns_at_once(cluster, tmp_path):
    resources = [{"api_version": "apps/v1", "kind": "Deployment", "name": "absent", "namespace": APP}]
    cluster.requests.reset()
    output, result = run(cluster, tmp_path, resources, check=True, timeout=600)
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["ready"] is False
    assert result["resources"][0]["checks"] == 0
    assert result["resources"][0]["component"] == "Deployment absent"
    assert cluster.requests.find(path="/deployments") == []
