"""Jobs get a Pod, complete or fail, and the Pod's log is served."""

from __future__ import annotations

import pytest

from tests.cluster import LocalCluster
from tests.helpers import http
from tests.test_cluster.test_controllers_manager import Sim, cond

FAILURE = 'psql: error: connection failed: FATAL:  password authentication failed for user "sonataflow"\n'


def job(name: str, ns: str = "default") -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": ns},
            "spec": {"backoffLimit": 0, "template": {
                "metadata": {"labels": {"app": "db-init"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "psql", "image": "postgresql-15"}]}}}}


def pods_of(sim: Sim, name: str) -> list[dict]:
    return sim.store.list("v1", "Pod", "default", label_selector=f"job-name={name}")


def test_job_gets_a_pod_owned_by_it_with_the_job_labels():
    sim = Sim(controllers={"workloads"}, delays={"workloads": 5})
    created = sim.create(job("init"))
    sim.run(2)
    pods = pods_of(sim, "init")
    assert len(pods) == 1
    pod = pods[0]
    uid = created["metadata"]["uid"]
    assert pod["metadata"]["name"].startswith("init-")
    assert pod["metadata"]["labels"] == {"app": "db-init", "job-name": "init", "batch.kubernetes.io/job-name": "init",
                                         "controller-uid": uid, "batch.kubernetes.io/controller-uid": uid}
    [ref] = pod["metadata"]["ownerReferences"]
    assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == ("Job", "init", uid, True)
    assert pod["spec"]["containers"][0]["image"] == "postgresql-15"
    assert pod["status"]["phase"] == "Running"
    assert sim.get("batch/v1", "Job", "init", "default")["status"]["active"] == 1


def test_job_completes_and_its_pod_succeeds():
    sim = Sim(controllers={"workloads"})
    sim.create(job("init"))
    sim.run(3)
    done = sim.get("batch/v1", "Job", "init", "default")
    assert cond(done, "Complete")["status"] == "True"
    assert done["status"]["succeeded"] == 1 and "failed" not in done["status"]
    [pod] = pods_of(sim, "init")
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    version = done["metadata"]["resourceVersion"]
    sim.run(3, advance=60)
    assert sim.get("batch/v1", "Job", "init", "default")["metadata"]["resourceVersion"] == version
    assert len(pods_of(sim, "init")) == 1


def test_failing_job_fails_with_backoff_limit_exceeded():
    sim = Sim(controllers={"workloads"}, failing_jobs=frozenset({"init"}))
    sim.create(job("init"))
    sim.create(job("other"))
    sim.run(3)
    failed = sim.get("batch/v1", "Job", "init", "default")
    assert failed["status"]["failed"] == 1
    assert "completionTime" not in failed["status"] and "succeeded" not in failed["status"]
    assert not cond(failed, "Complete")
    failed_cond = cond(failed, "Failed")
    assert (failed_cond["status"], failed_cond["reason"]) == ("True", "BackoffLimitExceeded")
    [pod] = pods_of(sim, "init")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
    assert cond(sim.get("batch/v1", "Job", "other", "default"), "Complete")["status"] == "True"


def test_never_ready_job_stays_active():
    sim = Sim(controllers={"workloads"}, never_ready=frozenset({"Job/init"}))
    sim.create(job("init"))
    sim.run(3, advance=600)
    stuck = sim.get("batch/v1", "Job", "init", "default")
    assert stuck["status"]["active"] == 1 and not stuck["status"].get("conditions")
    assert pods_of(sim, "init")[0]["status"]["phase"] == "Running"


def test_job_conditions_on_kubernetes_1_31_carry_reasons():
    sim = Sim(controllers={"workloads"}, kubernetes_version="1.31.2", failing_jobs=frozenset({"bad"}))
    sim.create(job("good"))
    sim.create(job("bad"))
    sim.run(3)
    good = sim.get("batch/v1", "Job", "good", "default")
    assert [c["type"] for c in good["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    bad = sim.get("batch/v1", "Job", "bad", "default")
    assert [c["type"] for c in bad["status"]["conditions"]] == ["FailureTarget", "Failed"]


@pytest.fixture
def live():
    with LocalCluster(failing_jobs=frozenset({"init"}), failing_job_log=FAILURE, job_log="CREATE DATABASE\n") as c:
        yield c


def wait_phase(cluster, name: str, phase: str) -> dict:
    for dummy in range(20):
        cluster.run_controllers()
        pods = cluster.store.list("v1", "Pod", "default", label_selector=f"job-name={name}")
        if pods and (pods[0].get("status") or {}).get("phase") == phase:
            return pods[0]
    raise AssertionError(f"pod of job {name} never reached {phase}")


def test_pod_log_endpoint_serves_the_job_log(live):
    for name in ("init", "fine"):
        assert http(live, "POST", "/apis/batch/v1/namespaces/default/jobs", job(name))[0] == 201
    failed = wait_phase(live, "init", "Failed")
    fine = wait_phase(live, "fine", "Succeeded")
    status, headers, body = http(live, "GET", f"/api/v1/namespaces/default/pods/{failed['metadata']['name']}/log")
    assert (status, body) == (200, FAILURE)
    assert headers["Content-Type"].startswith("text/plain")
    assert http(live, "GET", f"/api/v1/namespaces/default/pods/{fine['metadata']['name']}/log")[2] == \
        "CREATE DATABASE\n"
    status, dummy, body = http(live, "GET", "/api/v1/namespaces/default/pods/missing/log")
    assert status == 404 and body["reason"] == "NotFound"
    assert http(live, "POST", f"/api/v1/namespaces/default/pods/{fine['metadata']['name']}/log", {})[0] == 405


def test_discovery_lists_pods_log(live):
    doc = http(live, "GET", "/api/v1")[2]
    entry = next(r for r in doc["resources"] if r["name"] == "pods/log")
    assert (entry["kind"], entry["verbs"], entry["namespaced"]) == ("Pod", ["get"], True)
