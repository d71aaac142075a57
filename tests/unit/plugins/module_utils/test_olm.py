"""Pure decisions of the olm_operator module."""

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import olm

PARAMS = {
    "component": "OpenShift Serverless Logic operator",
    "package": "logic-operator-rhel8",
    "channel": "alpha",
    "source": "redhat-operators",
    "source_namespace": "openshift-marketplace",
    "approval": "Automatic",
    "starting_csv": "",
    "namespace": "openshift-serverless-logic",
    "subscription_name": "logic-operator-rhel8",
    "operator_group_name": "openshift-serverless-logic",
    "operator_group_target_namespaces": [],
    "labels": {},
}
OURS = dict(olm.OWNERSHIP_LABELS)


def params(**changes):
    return {**PARAMS, **changes}


def manifest(source="redhat-operators", source_ns="openshift-marketplace"):
    return {"metadata": {"name": "logic-operator-rhel8"}, "status": {
        "catalogSource": source, "catalogSourceNamespace": source_ns, "defaultChannel": "alpha",
        "channels": [
            {"name": "alpha", "currentCSV": "logic-operator-rhel8.v1.35.0",
             "entries": [{"name": "logic-operator-rhel8.v1.35.0"}, {"name": "logic-operator-rhel8.v1.34.0"}]},
            {"name": "stable", "currentCSV": "logic-operator-rhel8.v1.33.0"}]}}


def sub(name="logic-operator-rhel8", namespace="openshift-serverless-logic", package="logic-operator-rhel8",
        labels=None, spec=None, status=None, uid="u1"):
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}, "uid": uid},
            "spec": {"name": package, **(spec or {})}, "status": status or {}}


def plan(name, csv, approved=False, phase="RequiresApproval", owner_uid="u1", generation=1):
    return {"metadata": {"name": name, "ownerReferences": [{"kind": "Subscription", "uid": owner_uid}]},
            "spec": {"clusterServiceVersionNames": [csv], "approved": approved, "generation": generation},
            "status": {"phase": phase}}


def ready_deployment(replicas=1, available=1, status="True"):
    return {"spec": {"replicas": replicas},
            "status": {"replicas": replicas, "availableReplicas": available,
                       "conditions": [{"type": "Available", "status": status, "reason": "R", "message": "M"}]}}


# -- catalog -------------------------------------------------------------------


def test_package_problems():
    assert olm.package_problem(manifest(), params()) is None
    assert olm.package_problem(manifest(), params(starting_csv="logic-operator-rhel8.v1.34.0")) is None
    assert olm.package_problem(None, params()) == (
        "package logic-operator-rhel8 is not offered by any catalog in openshift-marketplace")
    assert olm.package_problem(manifest(source="community-operators"), params()) == (
        "package logic-operator-rhel8 comes from catalog openshift-marketplace/community-operators, "
        "not from openshift-marketplace/redhat-operators")
    assert olm.package_problem(manifest(), params(channel="beta")) == (
        "package logic-operator-rhel8 has no channel beta in catalog redhat-operators "
        "(available channels: alpha, stable)")
    assert olm.package_problem(manifest(), params(starting_csv="logic-operator-rhel8.v1.0.0")) == (
        "channel alpha of package logic-operator-rhel8 has no ClusterServiceVersion logic-operator-rhel8.v1.0.0 "
        "(available: logic-operator-rhel8.v1.35.0, logic-operator-rhel8.v1.34.0)")


def test_channel_without_entries_offers_its_head():
    assert olm.channel_csvs(manifest(), "stable") == ["logic-operator-rhel8.v1.33.0"]
    assert olm.channel_csvs(manifest(), "nope") == []


# -- choosing the Subscription -------------------------------------------------------


def test_no_subscription_means_create():
    assert olm.choose_subscription([sub(package="rhdh", name="rhdh", namespace="x")], params()) == ("create", None)


def test_ours_at_the_address_is_managed():
    mine = sub(labels=OURS)
    assert olm.choose_subscription([mine], params()) == ("manage", mine)


def test_someone_elses_at_the_address_is_reused():
    theirs = sub()
    assert olm.choose_subscription([theirs], params()) == ("reuse", theirs)


def test_one_elsewhere_is_reused_even_if_ours():
    theirs = sub(name="logic", namespace="team")
    ours_elsewhere = sub(name="logic", namespace="aaa", labels=OURS)
    assert olm.choose_subscription([ours_elsewhere, theirs], params()) == ("reuse", theirs)
    assert olm.choose_subscription([ours_elsewhere], params()) == ("reuse", ours_elsewhere)


def test_address_taken_by_another_package_is_an_error():
    with pytest.raises(ValueError, match="exists for package rhdh, not logic-operator-rhel8"):
        olm.choose_subscription([sub(package="rhdh")], params())


# -- bodies and patches ------------------------------------------------------------------


def test_bodies():
    labels = olm.ownership_labels({"team": "a"})
    assert labels == {**OURS, "team": "a"}
    og = olm.build_operator_group(params(), labels)
    assert og["spec"] == {} and og["metadata"] == {"name": "openshift-serverless-logic",
                                                   "namespace": "openshift-serverless-logic", "labels": labels}
    assert olm.build_operator_group(params(operator_group_target_namespaces=["a"]), labels)["spec"] == {
        "targetNamespaces": ["a"]}
    body = olm.build_subscription(params(), labels)
    assert body["spec"] == {"name": "logic-operator-rhel8", "channel": "alpha", "source": "redhat-operators",
                            "sourceNamespace": "openshift-marketplace", "installPlanApproval": "Automatic"}
    pinned = olm.build_subscription(params(starting_csv="logic-operator-rhel8.v1.34.0"), labels)
    assert pinned["spec"]["startingCSV"] == "logic-operator-rhel8.v1.34.0"


def test_subscription_patch():
    existing = olm.build_subscription(params(starting_csv="logic-operator-rhel8.v1.34.0"), OURS)
    assert olm.subscription_patch(existing, params(starting_csv="logic-operator-rhel8.v1.34.0")) is None
    assert olm.subscription_patch(existing, params(channel="stable", approval="Manual")) == {
        "spec": {"channel": "stable", "installPlanApproval": "Manual", "startingCSV": None}}


def test_needs_write_only_when_creating_or_patching():
    ours = olm.build_subscription(params(), OURS)
    assert olm.needs_write("create", None, params()) is True
    assert olm.needs_write("manage", ours, params()) is False
    assert olm.needs_write("manage", ours, params(channel="stable")) is True
    assert olm.needs_write("manage", ours, params(starting_csv="logic-operator-rhel8.v1.34.0")) is True
    # a reused Subscription is never written, whatever its spec
    assert olm.needs_write("reuse", sub(spec={"channel": "stable"}), params()) is False


def test_install_plans_and_deployments_from_lists():
    assert olm.needs_install_plans(sub(spec={"installPlanApproval": "Manual"})) is True
    assert olm.needs_install_plans(sub(spec={"installPlanApproval": "Automatic"})) is False
    items = [{"metadata": {"name": "a"}, "spec": {"replicas": 1}}, {"metadata": {"name": "other"}}]
    assert olm.pick_deployments(items, ["a", "b"]) == {"a": items[0], "b": None}
    csv = {"metadata": {"annotations": {"olm.operatorGroup": "og"}}}
    assert olm.csv_operator_group(csv) == "og" and olm.csv_operator_group(None) == ""


# -- approvals -----------------------------------------------------------------------


def manual(starting="", installed="", current_plan=""):
    spec = {"installPlanApproval": "Manual"}
    if starting:
        spec["startingCSV"] = starting
    status = {"installedCSV": installed}
    if current_plan:
        status["installPlanRef"] = {"name": current_plan}
    return sub(spec=spec, status=status)


def test_manual_with_starting_csv_approves_only_its_plan():
    plans = [plan("install-a", "logic-operator-rhel8.v1.34.0"), plan("install-b", "logic-operator-rhel8.v1.35.0")]
    subscription = manual(starting="logic-operator-rhel8.v1.34.0", current_plan="install-b")
    assert olm.plans_to_approve(subscription, plans) == ["install-a"]
    plans[0]["spec"]["approved"] = True
    assert olm.plans_to_approve(subscription, plans) == []


def test_manual_without_starting_csv_approves_the_initial_install_only():
    first = plan("install-a", "logic-operator-rhel8.v1.35.0")
    assert olm.plans_to_approve(manual(current_plan="install-a"), [first]) == ["install-a"]
    # an upgrade: something is installed already
    upgrade = plan("install-b", "logic-operator-rhel8.v1.36.0")
    installed = manual(installed="logic-operator-rhel8.v1.35.0", current_plan="install-b")
    assert olm.plans_to_approve(installed, [upgrade]) == []
    # a plan was approved already (the install is under way)
    first["spec"]["approved"] = True
    assert olm.plans_to_approve(manual(current_plan="install-b"), [first, upgrade]) == []


def test_automatic_approves_nothing():
    subscription = sub(spec={"installPlanApproval": "Automatic"}, status={"installPlanRef": {"name": "install-a"}})
    assert olm.plans_to_approve(subscription, [plan("install-a", "x.v1")]) == []


def test_related_install_plans_by_owner_or_reference():
    subscription = sub(status={"installPlanRef": {"name": "install-c"}})
    plans = [plan("install-b", "x.v2", generation=2), plan("install-a", "x.v1", generation=1),
             plan("install-z", "y.v1", owner_uid="other"),
             {"metadata": {"name": "install-c"}, "spec": {"generation": 3}}]
    names = [p["metadata"]["name"] for p in olm.related_install_plans(plans, subscription)]
    assert names == ["install-a", "install-b", "install-c"]


def test_target_csv():
    assert olm.target_csv(sub(spec={"installPlanApproval": "Automatic"},
                              status={"currentCSV": "x.v2", "installedCSV": "x.v1"})) == "x.v2"
    assert olm.target_csv(manual(starting="x.v1")) == "x.v1"
    assert olm.target_csv(manual(installed="x.v1")) == "x.v1"
    assert olm.target_csv(sub(spec={"installPlanApproval": "Manual"}, status={"currentCSV": "x.v3"})) == "x.v3"
    assert olm.target_csv(sub()) == ""


# -- readiness -------------------------------------------------------------------------


def csv(phase, deployments=("op",), reason="", message=""):
    return {"spec": {"install": {"spec": {"deployments": [{"name": d} for d in deployments]}}},
            "status": {"phase": phase, "reason": reason, "message": message}}


def test_deployment_ready():
    assert olm.deployment_ready(ready_deployment())
    assert not olm.deployment_ready(None)
    assert not olm.deployment_ready(ready_deployment(status="False"))
    assert not olm.deployment_ready(ready_deployment(replicas=2, available=1))
    assert not olm.deployment_ready({"spec": {}, "status": {}})


def test_evaluate():
    base = {"subscription": sub(), "csv_name": "x.v1", "deployments": {"op": ready_deployment()}}
    assert olm.evaluate({**base, "csv_name": ""})[0] == "waiting"
    assert olm.evaluate({**base, "csv": None})[0] == "waiting"
    assert olm.evaluate({**base, "csv": csv("Installing")}) == ("waiting", "ClusterServiceVersion x.v1 is in "
                                                                           "phase Installing")
    assert olm.evaluate({**base, "csv": csv("Failed")})[0] == "failed"
    assert olm.evaluate({**base, "csv": csv("Succeeded")}) == ("ready", "")
    # Succeeded is the signal (OLM takes it back when a Deployment stops being available)
    assert olm.evaluate({**base, "csv": csv("Succeeded"), "deployments": {}}) == ("ready", "")


# -- messages ------------------------------------------------------------------------


def test_failure_message_for_a_failed_csv():
    obs = {"subscription": sub(namespace="ns"), "csv_name": "x.v1",
           "csv": csv("Failed", reason="InstallComponentFailed", message="install strategy failed: boom"),
           "deployments": {"op": ready_deployment(available=0, status="False")}, "plans": []}
    assert olm.failure_message("X operator", obs) == (
        "X operator failed to install: waited for ClusterServiceVersion ns/x.v1 phase Succeeded; "
        "last status: phase Failed, reason InstallComponentFailed, message: install strategy failed: boom; "
        "Deployment ns/op: Available=False (R: M), 0/1 replicas available")


def test_timeout_message_without_a_csv_shows_the_subscription_and_pending_plans():
    subscription = sub(namespace="ns", status={"state": "UpgradePending", "conditions": [
        {"type": "InstallPlanPending", "status": "True", "reason": "RequiresApproval"},
        {"type": "CatalogSourcesUnhealthy", "status": "False"}]})
    obs = {"subscription": subscription, "csv_name": "", "csv": None, "deployments": {},
           "plans": [plan("install-a", "x.v1")], "error": "Service Unavailable"}
    assert olm.failure_message("X operator", obs, 30) == (
        "X operator is not ready after 30s: waited for Subscription ns/logic-operator-rhel8 status.currentCSV; "
        "last status: state UpgradePending; InstallPlanPending=True (RequiresApproval); "
        "InstallPlan ns/install-a for x.v1 waits for approval; last API error: Service Unavailable")


def test_debug_lists_the_related_objects():
    obs = {"subscription": sub(status={"state": "AtLatestKnown", "currentCSV": "x.v1", "installedCSV": "x.v1"}),
           "csv_name": "x.v1", "csv": csv("Installing", reason="InstallWaiting", message="waiting"),
           "deployments": {"op": None}, "plans": [plan("install-a", "x.v1", approved=True, phase="Complete")]}
    out = olm.debug(obs)
    assert out["subscription"]["state"] == "AtLatestKnown" and out["subscription"]["installedCSV"] == "x.v1"
    assert out["install_plans"] == [{"name": "install-a", "phase": "Complete", "approved": True, "csvs": ["x.v1"]}]
    assert out["csv"] == {"name": "x.v1", "phase": "Installing", "reason": "InstallWaiting", "message": "waiting"}
    assert out["deployments"] == [{"name": "op", "found": False, "conditions": []}]
