"""The postgresql role (deploy mode and the database Job) against the local test cluster.

Each case starts its own cluster, runs a one-role playbook and asserts on the
run's output, the cluster's objects, and the request log.
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.helpers import REPO_ROOT, play_recap, run_playbook, writes

NS = "sonataflow-infra"
NAME = "sonataflow-psql-postgresql"
JOB = "sonataflow-psql-create-database"
# Seconds between the role's looks at what it waits for (5 by default): the test cluster is quick.
POLL_DELAY = 1

PLAY = {
    "name": "PostgreSQL",
    "hosts": "localhost",
    "connection": "local",
    "gather_facts": False,
    "roles": [{"role": "parodos.orchestrator.postgresql"}],
    "tasks": [{
        "name": "Save the published fact",
        "check_mode": False,
        "changed_when": False,
        "ansible.builtin.copy": {"dest": "{{ facts_file }}", "mode": "0600",
                                 "content": "{{ orchestrator_postgresql | to_json }}"},
    }],
}


def run_role(cluster, tmp_path, extra_vars=None, *, check=False, args=()):
    """Run the role; return (rc, output, recap, published fact or None)."""
    facts_file = tmp_path / "facts.json"
    facts_file.unlink(missing_ok=True)
    extra_vars = {"facts_file": str(facts_file), "__postgresql_poll_delay": POLL_DELAY, **(extra_vars or {})}
    proc = run_playbook(cluster, [PLAY], extra_vars, check=check, args=args, timeout=180)
    facts = json.loads(facts_file.read_text()) if facts_file.is_file() else None
    return proc.returncode, proc.stdout + proc.stderr, play_recap(proc.stdout), facts


def flat(output: str) -> str:
    """Output with JSON escaping and line breaks evened out, for substring checks."""
    return re.sub(r"\s+", " ", output.replace('\\"', '"'))


def password(cluster) -> str:
    secret = cluster.store.get("v1", "Secret", NAME, NS)
    return base64.b64decode(secret["data"]["postgres-password"]).decode()


BAD_INPUT = [
    pytest.param({"postgresql_mode": "embedded", "postgresql_external_ssl_mode": "sometimes"},
                 ["postgresql_mode", "deploy, external", "postgresql_external_ssl_mode", "verify-full"],
                 id="argument-spec-choices"),
    pytest.param({"postgresql_secret_name": "", "postgresql_database": "", "postgresql_storage_size": "lots",
                  "postgresql_port": 70000, "postgresql_service_namespace": "elsewhere",
                  "postgresql_secret_password_key": "postgres-username", "postgresql_namespace": "Sonataflow",
                  "postgresql_database_job": True, "postgresql_database_job_name": "Create_DB"},
                 ["postgresql_port (70000) must be a port number from 1 to 65535",
                  "postgresql_secret_name () must be a Secret name",
                  "postgresql_database () must be a database name of 1 to 63 characters",
                  "postgresql_storage_size (lots) must be a positive Kubernetes quantity",
                  "postgresql_service_namespace (elsewhere) must be empty or equal to postgresql_namespace",
                  "postgresql_secret_user_key and postgresql_secret_password_key must differ",
                  "postgresql_namespace (Sonataflow) must be a namespace name",
                  "postgresql_database_job_name (Create_DB) must be a Job name"],
                 id="every-problem-at-once"),
    pytest.param({"postgresql_port": 0, "postgresql_storage_size": "0Gi"},
                 ["postgresql_port (0) must be a port number from 1 to 65535",
                  "postgresql_storage_size (0Gi) must be a positive Kubernetes quantity"],
                 id="zero-port-and-size"),
]


@pytest.mark.parametrize("extra_vars, messages", BAD_INPUT)
def test_bad_input_fails_before_any_request(cluster, tmp_path, extra_vars, messages):
    rc, output, recap, facts = run_role(cluster, tmp_path, extra_vars)
    assert rc != 0
    for message in messages:
        assert message in flat(output), output
    assert recap["failed"] == 1 and recap["changed"] == 0
    assert facts is None
    assert len(cluster.requests) == 0


def test_deploy_creates_everything_then_changes_nothing(cluster, tmp_path):
    rc, output, recap, facts = run_role(cluster, tmp_path, args=("-v", "--diff"))
    assert rc == 0, output
    # one task applies the namespace, the StatefulSet, the Service and the Secret
    assert recap["changed"] == 1
    first = password(cluster)
    assert len(first) == 32 and first not in output

    ns = cluster.store.get("v1", "Namespace", NS)
    assert ns["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "parodos.orchestrator"
    secret = cluster.store.get("v1", "Secret", NAME, NS)
    assert base64.b64decode(secret["data"]["postgres-username"]).decode() == "sonataflow"
    assert secret["metadata"]["labels"]["app.kubernetes.io/component"] == "postgresql"
    sts = cluster.store.get("apps/v1", "StatefulSet", NAME, NS)
    assert sts["status"]["readyReplicas"] == 1
    pod = sts["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == "registry.redhat.io/rhel9/postgresql-15:latest"
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    assert {e["name"] for e in container["env"]} == {"POSTGRESQL_USER", "POSTGRESQL_PASSWORD", "POSTGRESQL_DATABASE"}
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert "storageClassName" not in sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert cluster.store.get("v1", "PersistentVolumeClaim", f"data-{NAME}-0", NS)["status"]["phase"] == "Bound"
    svc = cluster.store.get("v1", "Service", NAME, NS)
    assert [p["port"] for p in svc["spec"]["ports"]] == [5432]
    assert facts == {"secret_name": NAME, "secret_namespace": NS, "user_key": "postgres-username",
                     "password_key": "postgres-password", "service_name": NAME, "service_namespace": NS,
                     "port": 5432, "database": "sonataflow", "host": f"{NAME}.{NS}.svc"}
    assert cluster.store.try_get("batch/v1", "Job", JOB, NS) is None

    mark = len(cluster.requests)
    rc, output, recap, dummy = run_role(cluster, tmp_path)
    assert rc == 0, output
    assert recap["changed"] == 0, output
    assert password(cluster) == first
    assert writes(cluster, since=mark, reviews=True) == []
    # the apply reads the StatefulSet once and finds it ready: no wait, no discovery, no second look
    sts_path = f"/apis/apps/v1/namespaces/{NS}/statefulsets/{NAME}"
    reads = [e.path for e in cluster.requests.entries[mark:] if e.method == "GET"]
    assert reads.count(sts_path) == 1, reads
    assert "/apis/apps/v1" not in reads

    mark = len(cluster.requests)
    rc, output, recap, dummy = run_role(cluster, tmp_path, check=True, args=("--diff",))
    assert rc == 0, output
    assert recap["changed"] == 0, output
    assert writes(cluster, since=mark, reviews=True) == []


def test_check_mode_on_an_empty_cluster_writes_nothing(cluster, tmp_path):
    rc, output, recap, facts = run_role(cluster, tmp_path, {"postgresql_database_job": True}, check=True,
                                        args=("--diff",))
    assert rc == 0, output
    assert recap["changed"] >= 1
    for ref in (f"Namespace/{NS}", f"StatefulSet/{NS}/{NAME}", f"Service/{NS}/{NAME}"):
        assert ref in flat(output), ref
    assert writes(cluster, reviews=True) == []
    assert cluster.store.try_get("v1", "Namespace", NS) is None
    assert facts["host"] == f"{NAME}.{NS}.svc"


def test_custom_names_in_an_existing_namespace(cluster, tmp_path):
    cluster.store.create({"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": "workflows", "labels": {"team": "data"}}}, manager="test")
    namespace = cluster.store.get("v1", "Namespace", "workflows")
    rc, output, dummy, facts = run_role(cluster, tmp_path, {
        "orchestrator_workflow_namespace": "workflows", "postgresql_service_name": "db", "postgresql_port": 5433,
        "postgresql_secret_name": "db-credentials", "postgresql_secret_user_key": "database-user",
        "postgresql_secret_password_key": "database-password", "postgresql_storage_class": "standard",
        "postgresql_storage_size": "2Gi", "postgresql_username": "orchestrator"})
    assert rc == 0, output
    secret = cluster.store.get("v1", "Secret", "db-credentials", "workflows")
    assert sorted(secret["data"]) == ["database-password", "database-user"]
    sts = cluster.store.get("apps/v1", "StatefulSet", "db", "workflows")
    vct = sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert (vct["storageClassName"], vct["resources"]["requests"]["storage"]) == ("standard", "2Gi")
    refs = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in
            sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert refs["POSTGRESQL_PASSWORD"] == {"name": "db-credentials", "key": "database-password"}
    assert cluster.store.get("v1", "Service", "db", "workflows")["spec"]["ports"][0]["port"] == 5433
    assert facts["host"] == "db.workflows.svc" and facts["port"] == 5433
    assert cluster.store.get("v1", "Namespace", "workflows") == namespace
    assert not [w for w in writes(cluster, reviews=True)
                if w[1].startswith("/api/v1/namespaces") and w[1].count("/") <= 4]


def test_statefulset_that_never_becomes_ready_fails_naming_it(cluster_factory, tmp_path):
    cluster = cluster_factory(never_ready=frozenset({"StatefulSet"}))
    rc, output, recap, facts = run_role(cluster, tmp_path, {"postgresql_wait_timeout": 2})
    assert rc != 0
    text = flat(output)
    assert f"StatefulSet {NS}/{NAME} did not become ready within 2 s" in text
    assert "Waited for readyReplicas and updatedReplicas to equal spec.replicas (1)" in text
    assert "Last status: replicas=1, readyReplicas=0" in text
    assert f"PersistentVolumeClaim {NS}/data-{NAME}-0: phase Bound, storage class standard" in text
    assert "Timed out" not in text.split("Stop on a StatefulSet")[-1]
    assert facts is None


def test_no_default_storage_class_is_explained(cluster_factory, tmp_path):
    cluster = cluster_factory(default_storage_class=False)
    rc, output, dummy, dummy = run_role(cluster, tmp_path, {"postgresql_wait_timeout": 2})
    assert rc != 0
    text = flat(output)
    assert f"StatefulSet {NS}/{NAME} did not become ready within 2 s" in text
    assert f"PersistentVolumeClaim {NS}/data-{NAME}-0: phase Pending, storage class none" in text
    assert "the cluster has no default StorageClass: mark one as default, or set postgresql_storage_class" in text


def test_database_job_completes_once_and_is_replaced_when_settings_change(cluster, tmp_path):
    rc, output, dummy, dummy = run_role(cluster, tmp_path, {"postgresql_database_job": True})
    assert rc == 0, output
    job = cluster.store.get("batch/v1", "Job", JOB, NS)
    # Kubernetes 1.31 and later set SuccessCriteriaMet before Complete
    assert [c["type"] for c in job["status"]["conditions"] if c["status"] == "True"] in (
        ["Complete"], ["SuccessCriteriaMet", "Complete"])
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    tpl = spec["template"]["spec"]
    assert tpl["restartPolicy"] == "Never"
    [container] = tpl["containers"]
    assert container["command"][:5] == ["psql", "-v", "ON_ERROR_STOP=1", "-v", "dbname=sonataflow"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["PGHOST"] == f"{NAME}.{NS}.svc" and env["PGPORT"] == "5432"
    assert env["PGPASSWORD"] == {"secretKeyRef": {"name": NAME, "key": "postgres-password"}}
    assert tpl["volumes"][0]["configMap"]["name"] == f"{JOB}-sql"
    sql = cluster.store.get("v1", "ConfigMap", f"{JOB}-sql", NS)["data"]["create-database.sql"]
    assert sql.strip() == (REPO_ROOT / "roles/postgresql/files/create-database.sql").read_text().strip()

    mark = len(cluster.requests)
    rc, output, recap, dummy = run_role(cluster, tmp_path, {"postgresql_database_job": True})
    assert rc == 0, output
    assert recap["changed"] == 0, output
    assert not [w for w in writes(cluster, since=mark, reviews=True) if "/jobs" in w[1] or "/configmaps" in w[1]]
    assert cluster.store.get("batch/v1", "Job", JOB, NS)["metadata"]["uid"] == job["metadata"]["uid"]

    settings = {"postgresql_database_job": True, "postgresql_database": "workflows"}
    rc, output, dummy, dummy = run_role(cluster, tmp_path, settings)
    assert rc == 0, output
    replaced = cluster.store.get("batch/v1", "Job", JOB, NS)
    assert replaced["metadata"]["uid"] != job["metadata"]["uid"]
    assert "dbname=workflows" in replaced["spec"]["template"]["spec"]["containers"][0]["command"]
    assert any(c["type"] == "Complete" for c in replaced["status"]["conditions"])


def test_failed_database_job_shows_its_log_and_is_replaced_next_run(cluster_factory, tmp_path):
    log = 'psql: error: connection to server failed: FATAL:  password authentication failed for user "sonataflow"'
    cluster = cluster_factory(failing_jobs=frozenset({JOB}), failing_job_log=log + "\n")
    rc, output, dummy, facts = run_role(cluster, tmp_path, {"postgresql_database_job": True})
    assert rc != 0
    text = flat(output)
    assert (f"Job {NS}/{JOB} failed: condition Failed (BackoffLimitExceeded: "
            "Job has reached the specified backoff limit).") in text
    assert flat(log) in text
    assert facts is None
    failed_uid = cluster.store.get("batch/v1", "Job", JOB, NS)["metadata"]["uid"]

    cluster.config.failing_jobs = frozenset()
    mark = len(cluster.requests)
    rc, output, dummy, dummy = run_role(cluster, tmp_path, {"postgresql_database_job": True})
    assert rc == 0, output
    job_writes = [w for w in writes(cluster, since=mark, reviews=True) if "/jobs" in w[1]]
    assert job_writes == [("DELETE", f"/apis/batch/v1/namespaces/{NS}/jobs/{JOB}"),
                          ("POST", f"/apis/batch/v1/namespaces/{NS}/jobs")]
    job = cluster.store.get("batch/v1", "Job", JOB, NS)
    assert job["metadata"]["uid"] != failed_uid
    assert any(c["type"] == "Complete" for c in job["status"]["conditions"])


def test_database_job_that_does_not_finish_fails_within_its_timeout(cluster_factory, tmp_path):
    cluster = cluster_factory(never_ready=frozenset({f"Job/{JOB}"}))
    settings = {"postgresql_database_job": True, "postgresql_database_job_timeout": 2}
    rc, output, dummy, dummy = run_role(cluster, tmp_path, settings)
    assert rc != 0
    text = flat(output)
    assert (f"Job {NS}/{JOB} did not finish within 2 s (waited for condition Complete or Failed); "
            "status: active=1, failed=0, succeeded=0.") in text


def test_site_playbook_runs_prerequisites_then_postgresql(cluster, tmp_path):
    proc = run_playbook(cluster, REPO_ROOT / "playbooks" / "site.yml", timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = [(e.method, e.path) for e in cluster.requests.entries]
    # the checks of the cluster read it first, then the Subscriptions are written, then PostgreSQL
    checked = calls.index(("GET", "/apis/config.openshift.io/v1/clusterversions/version"))
    subscribed = calls.index(("POST", "/apis/operators.coreos.com/v1alpha1/namespaces/openshift-serverless/subscriptions"))
    assert checked < subscribed < calls.index(("POST", f"/apis/apps/v1/namespaces/{NS}/statefulsets"))
    assert cluster.store.get("apps/v1", "StatefulSet", NAME, NS)["status"]["readyReplicas"] == 1


def test_a_changed_setting_shows_a_diff_of_what_is_set_and_nothing_else(cluster, tmp_path):
    rc, output, dummy, dummy2 = run_role(cluster, tmp_path)
    assert rc == 0, output
    resources = {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}
    for check in (True, False):
        rc, output, recap, dummy = run_role(cluster, tmp_path, {"postgresql_resources": resources}, check=check,
                                            args=("--diff",))
        assert rc == 0, output
        assert recap["changed"] == 1, output
        assert re.search(r'^-\s+"memory": "1Gi"', output, re.M), output
        assert re.search(r'^\+\s+"memory": "2Gi"', output, re.M), output
        assert re.search(r'^\+\s+"memory": "512Mi"', output, re.M), output
        assert "managedFields" not in output and "resourceVersion" not in output
        assert password(cluster) not in output
    [container] = cluster.store.get("apps/v1", "StatefulSet", NAME, NS)["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == resources
