"""olm_operator against the local test cluster, including the ways real installs fail."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.helpers import run_module, writes

V1A1 = "operators.coreos.com/v1alpha1"
OG_API = "operators.coreos.com/v1"
OURS = {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator"}
SERVERLESS = {
    "component": "OpenShift Serverless operator",
    "package": "serverless-operator",
    "channel": "stable",
    "namespace": "openshift-serverless",
    "subscription_name": "serverless-operator",
    "operator_group_name": "serverless-operator-group",
}
LOGIC = {
    "component": "OpenShift Serverless Logic operator",
    "package": "logic-operator-rhel8",
    "channel": "alpha",
    "namespace": "openshift-serverless-logic",
    "subscription_name": "logic-operator-rhel8",
    "operator_group_name": "openshift-serverless-logic",
}
FAST = {"delays": {"olm_install": 0.3}}


def run(cluster, tmp_path, check=False, **args):
    """Run the module; returns its result (``failed`` set when it failed)."""
    return run_module(cluster, tmp_path, "olm_operator", {"wait_sleep": 0.1, **args}, check=check)[1]


def plans(cluster, namespace):
    """InstallPlans of a namespace as {first CSV: approved}."""
    return {ip["spec"]["clusterServiceVersionNames"][0]: ip["spec"]["approved"]
            for ip in cluster.store.list(V1A1, "InstallPlan", namespace)}


def eventually(predicate, timeout=20.0):
    """Poll the in-process store until predicate() is true; False at the timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def test_install_then_nothing_to_do(cluster_factory, tmp_path):
    cluster = cluster_factory(**FAST)
    result = run(cluster, tmp_path, wait=True, wait_timeout=60, **SERVERLESS)
    assert not result.get("failed"), result
    assert result["changed"] is True and result["ready"] is True and result["reused"] is False
    assert result["created"] == ["Namespace/openshift-serverless",
                                 "OperatorGroup/openshift-serverless/serverless-operator-group",
                                 "Subscription/openshift-serverless/serverless-operator"]
    assert result["csv"] == {"name": "serverless-operator.v1.34.1", "phase": "Succeeded"}
    sub = cluster.store.get(V1A1, "Subscription", "serverless-operator", "openshift-serverless")
    assert sub["spec"] == {"name": "serverless-operator", "channel": "stable", "source": "redhat-operators",
                           "sourceNamespace": "openshift-marketplace", "installPlanApproval": "Automatic"}
    assert OURS.items() <= sub["metadata"]["labels"].items()
    og = cluster.store.get(OG_API, "OperatorGroup", "serverless-operator-group", "openshift-serverless")
    assert "targetNamespaces" not in og["spec"] and OURS.items() <= og["metadata"]["labels"].items()
    assert OURS.items() <= cluster.store.get("v1", "Namespace", "openshift-serverless")["metadata"]["labels"].items()
    dep = cluster.store.get("apps/v1", "Deployment", "knative-openshift", "openshift-serverless")
    assert dep["status"]["availableReplicas"] == 1

    cluster.requests.reset()
    again = run(cluster, tmp_path, wait=True, wait_timeout=60, **SERVERLESS)
    assert again["changed"] is False and again["ready"] is True and again["created"] == []
    assert writes(cluster, reviews=True) == [] and writes(cluster, dry_run=True, reviews=True) == []


def test_no_change_run_reads_little(cluster_factory, tmp_path):
    cluster = cluster_factory(**FAST)
    assert run(cluster, tmp_path, wait=True, wait_timeout=60, **SERVERLESS)["ready"] is True
    cluster.requests.reset()
    again = run(cluster, tmp_path, wait=True, wait_timeout=60, **SERVERLESS)
    assert again["changed"] is False and again["ready"] is True
    assert again["operator_group"] == "serverless-operator-group"
    seen = [(e.method, e.path) for e in cluster.requests.entries]
    ns = "/apis/operators.coreos.com/v1alpha1/namespaces/openshift-serverless"
    assert seen == [("GET", "/apis/operators.coreos.com/v1alpha1/subscriptions"),
                    ("GET", ns + "/clusterserviceversions/serverless-operator.v1.34.1")], seen


def test_changed_spec_of_our_subscription_is_patched(cluster_factory, tmp_path):
    cluster = cluster_factory(**FAST)
    assert run(cluster, tmp_path, **SERVERLESS)["changed"] is True
    cluster.requests.reset()
    result = run(cluster, tmp_path, **{**SERVERLESS, "channel": "stable-1.34"})
    assert result["changed"] is True and result["created"] == []
    assert writes(cluster, reviews=True) == [("PATCH", "/apis/operators.coreos.com/v1alpha1/namespaces/"
                                                       "openshift-serverless/subscriptions/serverless-operator")]
    sub = cluster.store.get(V1A1, "Subscription", "serverless-operator", "openshift-serverless")
    assert sub["spec"]["channel"] == "stable-1.34"


def test_failed_csv_fails_at_once(cluster_factory, tmp_path):
    cluster = cluster_factory(failing_packages={"serverless-operator"}, **FAST)
    result = run(cluster, tmp_path, wait=True, wait_timeout=120, **SERVERLESS)
    assert result["failed"] is True
    msg = result["msg"]
    # "failed to install", not "not ready after 120s": it did not sit out the timeout
    assert msg.startswith("OpenShift Serverless operator failed to install: "), msg
    assert "ClusterServiceVersion openshift-serverless/serverless-operator.v1.34.1 phase Succeeded" in msg
    assert "phase Failed, reason InstallComponentFailed" in msg
    assert 'install strategy failed: deployment knative-openshift not ready before timeout' in msg
    assert result["debug"]["csv"]["phase"] == "Failed"
    assert result["debug"]["subscription"]["installedCSV"] == "serverless-operator.v1.34.1"
    assert result["ready"] is False


def test_operator_that_never_becomes_ready_times_out(cluster_factory, tmp_path):
    cluster = cluster_factory(never_ready={"Deployment/knative-openshift"}, **FAST)
    result = run(cluster, tmp_path, wait=True, wait_timeout=3, **SERVERLESS)
    assert result["failed"] is True
    msg = result["msg"]
    assert msg.startswith("OpenShift Serverless operator is not ready after 3s: "), msg
    assert "ClusterServiceVersion openshift-serverless/serverless-operator.v1.34.1 phase Succeeded" in msg
    assert ("Deployment openshift-serverless/knative-openshift: Available=False (MinimumReplicasUnavailable: "
            "Deployment does not have minimum availability.), 0/1 replicas available") in msg
    deps = {d["name"]: d for d in result["debug"]["deployments"]}
    assert deps["knative-openshift"]["conditions"][0]["status"] == "False"
    assert result["debug"]["subscription"]["currentCSV"] == "serverless-operator.v1.34.1"


def test_unknown_channel_fails_before_any_write(cluster, tmp_path):
    result = run(cluster, tmp_path, wait=True, **{**SERVERLESS, "channel": "nightly"})
    assert result["failed"] is True
    assert result["msg"] == ("OpenShift Serverless operator: package serverless-operator has no channel nightly in "
                             "catalog redhat-operators (available channels: stable, stable-1.33, stable-1.34)")
    assert writes(cluster, reviews=True) == [] and writes(cluster, dry_run=True, reviews=True) == []
    assert cluster.store.try_get("v1", "Namespace", "openshift-serverless") is None


def test_starting_csv_not_in_channel_fails(cluster, tmp_path):
    result = run(cluster, tmp_path, **{**LOGIC, "starting_csv": "logic-operator-rhel8.v1.30.0"})
    assert result["failed"] is True
    assert ("has no ClusterServiceVersion logic-operator-rhel8.v1.30.0 (available: logic-operator-rhel8.v1.35.0, "
            "logic-operator-rhel8.v1.34.0, logic-operator-rhel8.v1.33.0)") in result["msg"]
    assert writes(cluster, reviews=True) == []


def test_transient_api_errors_while_waiting(cluster_factory, tmp_path):
    cluster = cluster_factory(delays={"olm_install": 1.5})
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(run, cluster, tmp_path, wait=True, wait_timeout=60, **SERVERLESS)
        assert eventually(lambda: cluster.store.try_get(V1A1, "Subscription", "serverless-operator",
                                                        "openshift-serverless") is not None)
        cluster.set_faults(error_rate=0.2, methods=("GET",), seed=11)
        try:
            result = future.result(timeout=120)
        finally:
            cluster.set_faults()
    assert not result.get("failed"), result
    assert result["ready"] is True and result["csv"]["phase"] == "Succeeded"
    failed_gets = [e for e in cluster.requests.entries if e.method == "GET" and e.status in (429, 500, 503)]
    assert failed_gets, "no fault was injected while waiting"


def test_manual_approval_approves_only_the_starting_csv(cluster_factory, tmp_path):
    cluster = cluster_factory(**FAST)
    args = {**LOGIC, "approval": "Manual", "starting_csv": "logic-operator-rhel8.v1.34.0"}
    result = run(cluster, tmp_path, wait=True, wait_timeout=60, **args)
    assert not result.get("failed"), result
    assert result["ready"] is True
    assert result["csv"] == {"name": "logic-operator-rhel8.v1.34.0", "phase": "Succeeded"}
    assert len(result["approved_install_plans"]) == 1
    ns = LOGIC["namespace"]
    # once v1.34.0 succeeded, OLM plans the upgrade to v1.35.0 and waits for its approval
    assert eventually(lambda: "logic-operator-rhel8.v1.35.0" in plans(cluster, ns))

    again = run(cluster, tmp_path, wait=True, wait_timeout=60, **args)
    assert again["changed"] is False and again["approved_install_plans"] == []
    assert plans(cluster, ns) == {"logic-operator-rhel8.v1.34.0": True, "logic-operator-rhel8.v1.35.0": False}
    approved = cluster.store.get(V1A1, "InstallPlan", result["approved_install_plans"][0], ns)
    assert approved["spec"]["clusterServiceVersionNames"] == ["logic-operator-rhel8.v1.34.0"]
    assert cluster.store.try_get(V1A1, "ClusterServiceVersion", "logic-operator-rhel8.v1.35.0", ns) is None


def test_manual_approval_without_starting_csv_approves_the_initial_install_only(cluster_factory, tmp_path):
    cluster = cluster_factory(**FAST)
    args = {"component": "Red Hat Developer Hub operator", "package": "rhdh", "channel": "fast-1.3",
            "namespace": "rhdh-operator", "subscription_name": "rhdh", "operator_group_name": "rhdh-operator",
            "approval": "Manual"}
    result = run(cluster, tmp_path, wait=True, wait_timeout=60, **args)
    assert not result.get("failed"), result
    assert result["csv"] == {"name": "rhdh-operator.v1.3.1", "phase": "Succeeded"}
    assert plans(cluster, "rhdh-operator") == {"rhdh-operator.v1.3.1": True}


def test_subscription_of_someone_else_is_reused(cluster_factory, tmp_path):
    cluster = cluster_factory(**FAST)
    store = cluster.store
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-operators"}}, manager="user")
    store.create({"apiVersion": OG_API, "kind": "OperatorGroup",
                  "metadata": {"name": "global", "namespace": "team-operators"}, "spec": {}}, manager="user")
    store.create({"apiVersion": V1A1, "kind": "Subscription",
                  "metadata": {"name": "serverless", "namespace": "team-operators"},
                  "spec": {"name": "serverless-operator", "channel": "stable-1.33", "source": "redhat-operators",
                           "sourceNamespace": "openshift-marketplace", "installPlanApproval": "Automatic"}},
                 manager="user")
    before = store.get(V1A1, "Subscription", "serverless", "team-operators")
    cluster.requests.reset()
    result = run(cluster, tmp_path, wait=True, wait_timeout=60, **SERVERLESS)
    assert not result.get("failed"), result
    assert result["reused"] is True and result["changed"] is False and result["created"] == []
    assert result["subscription"] == {"name": "serverless", "namespace": "team-operators"}
    assert result["ready"] is True and result["csv"] == {"name": "serverless-operator.v1.33.2",
                                                         "phase": "Succeeded"}
    assert writes(cluster, reviews=True) == [] and writes(cluster, dry_run=True, reviews=True) == []
    assert store.try_get("v1", "Namespace", "openshift-serverless") is None
    after = store.get(V1A1, "Subscription", "serverless", "team-operators")
    assert after["spec"] == before["spec"]
    assert "app.kubernetes.io/managed-by" not in (after["metadata"].get("labels") or {})


def test_existing_operator_group_is_reused(cluster_factory, tmp_path):
    cluster = cluster_factory(**FAST)
    store = cluster.store
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "openshift-serverless"}},
                 manager="user")
    store.create({"apiVersion": OG_API, "kind": "OperatorGroup",
                  "metadata": {"name": "openshift-serverless-abcde", "namespace": "openshift-serverless"},
                  "spec": {}}, manager="user")
    result = run(cluster, tmp_path, wait=True, wait_timeout=60, **SERVERLESS)
    assert not result.get("failed"), result
    assert result["created"] == ["Subscription/openshift-serverless/serverless-operator"]
    assert result["operator_group"] == "openshift-serverless-abcde" and result["ready"] is True
    assert [og["metadata"]["name"] for og in store.list(OG_API, "OperatorGroup", "openshift-serverless")] == [
        "openshift-serverless-abcde"]
    namespace = store.get("v1", "Namespace", "openshift-serverless")
    assert "app.kubernetes.io/managed-by" not in (namespace["metadata"].get("labels") or {})


def test_check_mode_on_an_empty_cluster(cluster, tmp_path):
    result = run(cluster, tmp_path, check=True, wait=True, **SERVERLESS)
    assert not result.get("failed"), result
    assert result["changed"] is True and result["ready"] is False
    assert result["created"] == ["Namespace/openshift-serverless",
                                 "OperatorGroup/openshift-serverless/serverless-operator-group",
                                 "Subscription/openshift-serverless/serverless-operator"]
    assert writes(cluster, reviews=True) == []
    assert [m for m, dummy in writes(cluster, dry_run=True, reviews=True)] == ["POST", "POST", "POST"]
    assert cluster.store.try_get("v1", "Namespace", "openshift-serverless") is None
    assert cluster.store.list(V1A1, "Subscription") == []
