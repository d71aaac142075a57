"""The olm_operator module against an in-memory API: order of writes, waiting, approvals, failures."""

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import olm, olm_install
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from ansible_collections.parodos.orchestrator.plugins.modules import olm_operator
from tests.unit.fakes import Clock, FakeApi, real_api

NS = "openshift-serverless-logic"
PKG = "logic-operator-rhel8"
V134, V135 = PKG + ".v1.34.0", PKG + ".v1.35.0"
ARGS = {"component": "Logic operator", "package": PKG, "channel": "alpha", "namespace": NS,
        "subscription_name": PKG, "operator_group_name": NS, "wait_sleep": 1}
PM_PATH = olm.package_manifest_path("openshift-marketplace", PKG)
SUB_PATH = olm.olm_path("subscriptions", NS, PKG)


def params(**changes):
    spec = olm_operator.argument_spec()
    out = {key: value.get("default") for key, value in spec.items()}
    out.update(ARGS)
    out.update(changes)
    return out


def manifest():
    return {"metadata": {"name": PKG}, "status": {
        "catalogSource": "redhat-operators", "catalogSourceNamespace": "openshift-marketplace",
        "channels": [{"name": "alpha", "currentCSV": V135,
                      "entries": [{"name": V135}, {"name": V134}]}]}}


def deployment(available):
    cond = {"type": "Available", "status": "True" if available else "False", "reason": "MinimumReplicasAvailable"
            if available else "MinimumReplicasUnavailable"}
    return {"metadata": {"name": "op"}, "spec": {"replicas": 1},
            "status": {"replicas": 1, "availableReplicas": 1 if available else 0, "conditions": [cond]}}


def csv_object(name, phase, reason="", message=""):
    return {"metadata": {"name": name, "namespace": NS},
            "spec": {"install": {"spec": {"deployments": [{"name": "op"}]}}},
            "status": {"phase": phase, "reason": reason, "message": message}}


# OLM's resources (served on every OpenShift cluster, listed even when empty)
OLM_SERVED = (olm.olm_path("subscriptions"), olm.olm_path("installplans"), olm.olm_path("clusterserviceversions"),
              olm.olm_path("operatorgroups"))


def fake_cluster(objects=None, tick=None):
    """The catalog's PackageManifest and ``objects``; ``tick(api)`` runs before each GET (a tiny OLM)."""
    api = FakeApi(dict({PM_PATH: manifest()}, **(objects or {})), served=OLM_SERVED)
    if tick:
        api.on_request(tick, method="GET")
    return api


def installer(api, check=False, **changes):
    clock = Clock()
    return olm_install.Installer(api, params(**changes), check, sleep=clock.sleep, clock=clock)


def olm_sim(approval_needed=True, succeed=True):
    """A tick: resolve the Subscription, plan, install once approved, then plan the upgrade to v1.35.0."""
    def tick(api):
        sub = api.objects.get(SUB_PATH)
        if sub is None:
            return
        status = sub.setdefault("status", {})
        owner = [{"kind": "Subscription", "uid": sub["metadata"]["uid"]}]
        plan_path = olm.olm_path("installplans", NS, "install-a")
        csv_path = olm.olm_path("clusterserviceversions", NS, V134)
        if not status.get("currentCSV"):
            status.update(currentCSV=V134, installPlanRef={"name": "install-a"}, state="UpgradePending")
            api.objects[plan_path] = {
                "metadata": {"name": "install-a", "ownerReferences": owner},
                "spec": {"clusterServiceVersionNames": [V134], "approved": not approval_needed, "generation": 1},
                "status": {"phase": "RequiresApproval"}}
            return
        plan = api.objects[plan_path]
        if plan["spec"]["approved"] and csv_path not in api.objects:
            api.objects[csv_path] = csv_object(V134, "Succeeded" if succeed else "Failed", "InstallComponentFailed",
                                               "install strategy failed: deployment op not ready")
            api.objects[olm.deployment_path(NS, "op")] = deployment(True)
            status.update(installedCSV=V134, state="AtLatestKnown", currentCSV=V135,
                          installPlanRef={"name": "install-b"})
            api.objects[olm.olm_path("installplans", NS, "install-b")] = {
                "metadata": {"name": "install-b", "ownerReferences": owner},
                "spec": {"clusterServiceVersionNames": [V135], "approved": False, "generation": 2},
                "status": {"phase": "RequiresApproval"}}
    return tick


# -- writes -----------------------------------------------------------------------------


def test_creates_namespace_operator_group_subscription_in_order():
    api = fake_cluster()
    result = installer(api, labels={"team": "a"}).run()
    assert result["created"] == ["Namespace/" + NS, "OperatorGroup/%s/%s" % (NS, NS), "Subscription/%s/%s" % (NS, PKG)]
    assert [(m, p) for m, p, d in api.writes()] == [
        ("POST", "/api/v1/namespaces"), ("POST", olm.olm_path("operatorgroups", NS)),
        ("POST", olm.olm_path("subscriptions", NS))]
    assert api.objects[SUB_PATH]["metadata"]["labels"] == {**olm.OWNERSHIP_LABELS, "team": "a"}
    assert result["changed"] is True and result["ready"] is False
    # the Subscriptions first, then the catalog, before any write
    assert api.calls("method", "path", "dry_run")[:2] == [("GET", olm.olm_path("subscriptions"), False),
                                                          ("GET", PM_PATH, False)]


def test_check_mode_sends_dry_runs_and_tolerates_the_missing_namespace():
    api = fake_cluster()
    result = installer(api, check=True, wait=True).run()
    assert result["changed"] is True and len(result["created"]) == 3
    assert all(dry for dummy, dummy2, dry in api.writes()) and len(api.writes()) == 3
    assert list(api.objects) == [PM_PATH]


def test_unknown_channel_fails_before_any_write():
    api = fake_cluster()
    with pytest.raises(olm_install.Failure, match=r"no channel beta .* \(available channels: alpha\)"):
        installer(api, channel="beta").run()
    assert api.writes() == []


def test_existing_operator_group_and_namespace_are_reused():
    api = fake_cluster({olm.namespace_path(NS): {"metadata": {"name": NS}},
                       olm.olm_path("operatorgroups", NS, "theirs"): {"metadata": {"name": "theirs"}}})
    result = installer(api).run()
    assert result["created"] == ["Subscription/%s/%s" % (NS, PKG)] and result["operator_group"] == "theirs"


def test_our_subscription_is_patched_when_it_differs():
    api = fake_cluster()
    installer(api).run()
    api.requests.clear()
    result = installer(api, approval="Manual", starting_csv=V134).run()
    assert result["changed"] is True and result["created"] == []
    assert api.writes() == [("PATCH", SUB_PATH, False)]
    assert api.objects[SUB_PATH]["spec"]["installPlanApproval"] == "Manual"
    api.requests.clear()
    assert installer(api, approval="Manual", starting_csv=V134).run()["changed"] is False
    assert api.writes() == []


def test_someone_elses_subscription_is_reused_and_waited_for_without_approving():
    theirs = {"metadata": {"name": "logic", "namespace": "team", "uid": "t"},
              "spec": {"name": PKG, "installPlanApproval": "Automatic"},
              "status": {"currentCSV": V134, "installedCSV": V134}}
    api = fake_cluster({olm.olm_path("subscriptions", "team", "logic"): theirs,
                       olm.olm_path("clusterserviceversions", "team", V134): csv_object(V134, "Succeeded"),
                       olm.deployment_path("team", "op"): deployment(True)})
    result = installer(api, wait=True).run()
    assert result["reused"] is True and result["changed"] is False and result["ready"] is True
    assert result["subscription"] == {"name": "logic", "namespace": "team"}
    assert api.writes() == []


def installed(**changes):
    """A cluster where our Subscription (with ``changes``) is installed at v1.34.0 and its operator runs."""
    sub = olm.build_subscription(params(**changes), olm.OWNERSHIP_LABELS)
    sub["metadata"]["uid"] = "s"
    sub["status"] = {"currentCSV": V134, "installedCSV": V134, "installPlanRef": {"name": "install-a"}}
    plan = {"metadata": {"name": "install-a", "ownerReferences": [{"kind": "Subscription", "uid": "s"}]},
            "spec": {"clusterServiceVersionNames": [V134], "approved": True}, "status": {"phase": "Complete"}}
    api = fake_cluster({olm.namespace_path(NS): {"metadata": {"name": NS}},
                       olm.olm_path("operatorgroups", NS, NS): {"metadata": {"name": NS}},
                       SUB_PATH: sub, olm.olm_path("installplans", NS, "install-a"): plan,
                       olm.olm_path("clusterserviceversions", NS, V134): csv_object(V134, "Succeeded"),
                       olm.deployment_path(NS, "op"): deployment(True),
                       olm.deployment_path(NS, "unrelated"): {**deployment(False), "metadata": {"name": "unrelated"}}})
    api.objects.pop(PM_PATH)  # the catalog is not needed when nothing is written
    return api


def test_nothing_to_write_reads_only_the_subscriptions_before_waiting():
    api = installed()
    result = installer(api, wait=True).run()
    assert result["changed"] is False and result["ready"] is True and result["created"] == []
    assert result["csv"] == {"name": V134, "phase": "Succeeded"}
    # no PackageManifest, Namespace, OperatorGroup, Subscription, InstallPlan or Deployment reads
    assert api.calls("method", "path", "dry_run") == [
        ("GET", olm.olm_path("subscriptions"), False),
        ("GET", olm.olm_path("clusterserviceversions", NS, V134), False)]


def test_without_wait_an_installed_operator_is_looked_at_once():
    api = installed()
    result = installer(api).run()
    assert result["changed"] is False and result["ready"] is True
    assert result["csv"] == {"name": V134, "phase": "Succeeded"}
    assert api.paths() == [olm.olm_path("subscriptions"),
                           olm.olm_path("clusterserviceversions", NS, V134)]


def test_without_wait_an_unavailable_operator_is_not_ready_and_nothing_fails():
    api = installed()
    # OLM takes Succeeded back when a Deployment of the CSV stops being available
    api.objects[olm.deployment_path(NS, "op")] = deployment(False)
    api.objects[olm.olm_path("clusterserviceversions", NS, V134)] = csv_object(V134, "Installing", "InstallWaiting")
    assert installer(api).run()["ready"] is False
    assert olm.deployment_path(NS) in api.paths()  # read to explain the CSV
    api.objects[olm.olm_path("clusterserviceversions", NS, V134)] = csv_object(V134, "Failed")
    assert installer(api).run()["ready"] is False


def test_without_wait_a_written_or_unresolved_subscription_is_not_looked_at():
    api = fake_cluster()
    installer(api).run()  # created: no currentCSV yet
    api.requests.clear()
    assert installer(api).run()["ready"] is False
    assert api.paths() == [olm.olm_path("subscriptions")]
    api = installed()
    api.objects[PM_PATH] = manifest()
    api.requests.clear()
    result = installer(api, approval="Manual").run()  # patched: read afresh by the later wait
    assert result["changed"] is True and result["ready"] is False
    assert olm.deployment_path(NS) not in api.paths()


def test_nothing_to_write_with_manual_approval_reads_the_install_plans():
    api = installed(approval="Manual", starting_csv=V134)
    result = installer(api, wait=True, approval="Manual", starting_csv=V134).run()
    assert result["ready"] is True and result["approved_install_plans"] == [] and api.writes() == []
    assert api.paths() == [olm.olm_path("subscriptions"), olm.olm_path("installplans", NS),
                           olm.olm_path("clusterserviceversions", NS, V134)]


def test_a_change_still_checks_the_catalog_first():
    api = installed()
    with pytest.raises(olm_install.Failure, match="not offered by any catalog"):
        installer(api, channel="beta").run()
    assert api.writes() == []


def test_name_taken_by_another_package_reports_a_catalog_problem_first():
    other = {"metadata": {"name": PKG, "namespace": NS}, "spec": {"name": "other"}}
    api = fake_cluster({SUB_PATH: other})
    with pytest.raises(olm_install.Failure, match="exists for package other"):
        installer(api).run()
    with pytest.raises(olm_install.Failure, match="no channel beta"):
        installer(api, channel="beta").run()
    assert api.writes() == []


# -- waiting ------------------------------------------------------------------------------


def test_manual_with_starting_csv_approves_only_that_plan():
    api = fake_cluster(tick=olm_sim())
    result = installer(api, wait=True, approval="Manual", starting_csv=V134).run()
    assert result["ready"] is True and result["approved_install_plans"] == ["install-a"]
    assert result["csv"] == {"name": V134, "phase": "Succeeded"}
    assert api.objects[olm.olm_path("installplans", NS, "install-b")]["spec"]["approved"] is False


def test_automatic_approves_nothing_and_follows_current_csv():
    sub = olm.build_subscription(params(), olm.OWNERSHIP_LABELS)
    sub["metadata"]["uid"] = "s"
    sub["status"] = {"currentCSV": V135, "installedCSV": V134, "installPlanRef": {"name": "install-b"}}
    owner = [{"kind": "Subscription", "uid": "s"}]
    api = fake_cluster({
        olm.namespace_path(NS): {"metadata": {"name": NS}},
        olm.olm_path("operatorgroups", NS, NS): {"metadata": {"name": NS}},
        SUB_PATH: sub,
        olm.olm_path("installplans", NS, "install-b"): {
            "metadata": {"name": "install-b", "ownerReferences": owner},
            "spec": {"clusterServiceVersionNames": [V135], "approved": False}, "status": {"phase": "Installing"}},
        olm.olm_path("clusterserviceversions", NS, V134): csv_object(V134, "Succeeded"),
        olm.deployment_path(NS, "op"): deployment(True)})
    inst = installer(api, wait=True, wait_timeout=5)
    with pytest.raises(olm_install.Failure) as exc:
        inst.run()
    # Automatic waits for currentCSV (the upgrade), not for the installed one
    assert str(exc.value) == ("Logic operator is not ready after 5s: waited for ClusterServiceVersion "
                              "%s/%s phase Succeeded; last status: not found" % (NS, V135))
    assert inst.result["approved_install_plans"] == [] and api.writes() == []
    assert [p["name"] for p in exc.value.debug["install_plans"]] == ["install-b"]


def test_failed_csv_fails_at_once():
    api = fake_cluster(tick=olm_sim(approval_needed=False, succeed=False))
    inst = installer(api, wait=True, approval="Manual", starting_csv=V134, wait_timeout=600)
    with pytest.raises(olm_install.Failure, match="Logic operator failed to install: .*phase Failed, reason "
                                                  "InstallComponentFailed") as exc:
        inst.run()
    # a couple of polls, not 600 of them
    assert api.paths().count(SUB_PATH) <= 3
    assert exc.value.debug["csv"]["phase"] == "Failed"


def test_transient_errors_are_retried_while_waiting():
    api = fake_cluster(tick=olm_sim())
    inst = installer(api, wait=True, approval="Manual", starting_csv=V134)
    # 3 writes' worth of reads succeed, then the wait meets a run of server errors
    api.inject([None] * 4 + [503, 500, 429, 0, None, 503], method="GET")
    result = inst.run()
    assert result["ready"] is True and api.pending() == 0


def test_forbidden_while_waiting_fails_with_the_error():
    api = fake_cluster(tick=olm_sim())
    api.inject([None] * 4 + [403], method="GET")
    with pytest.raises(olm_install.Failure, match="reading the cluster failed: injected"):
        installer(api, wait=True).run()


def test_transient_errors_before_writing_are_retried_a_few_times(monkeypatch):
    # the retrying is k8s.Api's, until its deadline (10 s here)
    api = fake_cluster()
    api.inject([500, 503], method="GET")
    assert installer(real_api(api, monkeypatch, timeout=10)).run()["changed"] is True
    assert api.pending() == 0
    api = fake_cluster()
    api.inject([500] * 100, method="GET")
    with pytest.raises(ApiError) as exc:
        installer(real_api(api, monkeypatch, timeout=10)).run()
    assert exc.value.status == 500 and 0 < api.pending() < 100
    assert api.writes() == []


def test_timeout_names_the_deployment():
    olm_sim_tick = olm_sim()

    def never_ready(cluster):
        olm_sim_tick(cluster)
        path = olm.deployment_path(NS, "op")
        if path in cluster.objects:
            # as OLM does: the CSV stays Installing while its Deployment is not available
            cluster.objects[path] = deployment(False)
            csv_path = olm.olm_path("clusterserviceversions", NS, V134)
            cluster.objects[csv_path] = csv_object(V134, "Installing", "InstallWaiting")

    api = fake_cluster(tick=never_ready)
    with pytest.raises(olm_install.Failure) as exc:
        installer(api, wait=True, approval="Manual", starting_csv=V134, wait_timeout=4).run()
    assert ("Deployment %s/op: Available=False (MinimumReplicasUnavailable), 0/1 replicas available" % NS
            in str(exc.value))
    assert exc.value.debug["deployments"][0]["availableReplicas"] == 0


# -- main() -----------------------------------------------------------------------------


def test_main_reports_the_result(run_module):
    code, result = run_module(olm_operator, ARGS, fake_cluster())
    assert code == 0 and result["changed"] is True and result["reused"] is False
    assert result["subscription"] == {"name": PKG, "namespace": NS}


def test_main_fails_with_debug(run_module):
    api = fake_cluster(tick=olm_sim(approval_needed=False, succeed=False))
    code, result = run_module(olm_operator, dict(ARGS, wait=True, wait_sleep=0.01), api)
    assert code == 1 and result["failed"] is True
    assert result["debug"]["csv"]["phase"] == "Failed"
    assert result["created"] and result["ready"] is False


def test_main_rejects_empty_options(run_module):
    code, result = run_module(olm_operator, dict(ARGS, package=""), fake_cluster())
    assert code == 1 and result["msg"] == "Invalid options: package must not be empty"


# -- several operators in one call --------------------------------------------------------

OTHER_NS, OTHER_PKG = "openshift-serverless", "serverless-operator"
OTHER = {"component": "Serverless operator", "package": OTHER_PKG, "channel": "stable", "namespace": OTHER_NS,
         "subscription_name": OTHER_PKG, "operator_group_name": OTHER_NS}
OTHER_PM = olm.package_manifest_path("openshift-marketplace", OTHER_PKG)
ENTRY = {key: value for key, value in ARGS.items() if key != "wait_sleep"}


def other_manifest(channel="stable"):
    return {"metadata": {"name": OTHER_PKG}, "status": {
        "catalogSource": "redhat-operators", "catalogSourceNamespace": "openshift-marketplace",
        "channels": [{"name": channel, "currentCSV": OTHER_PKG + ".v1", "entries": [{"name": OTHER_PKG + ".v1"}]}]}}


def test_several_operators_read_the_subscriptions_once_and_check_every_catalog_before_writing(run_module):
    api = fake_cluster({OTHER_PM: other_manifest()})
    code, result = run_module(olm_operator, {"operators": [ENTRY, OTHER], "labels": {"team": "a"}}, api)
    assert code == 0 and result["changed"] is True and result["ready"] is False
    assert [r["component"] for r in result["operators"]] == ["Logic operator", "Serverless operator"]
    assert "subscription" not in result  # the one operator's keys only when alone
    calls = api.calls("method", "path")
    assert calls[:3] == [("GET", olm.olm_path("subscriptions")), ("GET", PM_PATH), ("GET", OTHER_PM)]
    assert [p for m, p in calls].count(olm.olm_path("subscriptions")) == 1
    assert result["created"] == result["operators"][0]["created"] + result["operators"][1]["created"]
    # an option an entry leaves out comes from the module's option of the same name
    assert api.objects[olm.olm_path("subscriptions", OTHER_NS, OTHER_PKG)]["metadata"]["labels"]["team"] == "a"


def test_a_bad_catalog_entry_of_the_second_operator_stops_the_first_from_being_written(run_module):
    api = fake_cluster({OTHER_PM: other_manifest(channel="candidate")})
    code, result = run_module(olm_operator, {"operators": [ENTRY, OTHER]}, api)
    assert code == 1 and "Serverless operator" in result["msg"] and "no channel stable" in result["msg"]
    assert api.writes() == []


def test_several_operators_are_waited_for_together():
    clock = Clock()
    api = fake_cluster({OTHER_PM: other_manifest()}, tick=olm_sim(approval_needed=False))
    settings = olm_install.operators_of(dict(params(wait=True, approval="Manual", starting_csv=V134),
                                             operators=[{}, dict(OTHER, approval="Automatic", starting_csv="")]))
    installers = [olm_install.Installer(api, one, False, sleep=clock.sleep, clock=clock) for one in settings]
    with pytest.raises(olm_install.Failure, match="Serverless operator is not ready after 600s"):
        olm_install.install_all(installers)  # the tiny OLM only installs the Logic operator
    assert installers[0].result["ready"] is True and installers[1].result["ready"] is False


def test_two_entries_for_one_subscription_are_rejected(run_module):
    code, result = run_module(olm_operator, {"operators": [ENTRY, dict(ENTRY, component="again")]}, fake_cluster())
    assert code == 1 and "two entries name the same Subscription" in result["msg"]
    code, result = run_module(olm_operator, {"operators": [ENTRY, dict(OTHER, package="")]}, fake_cluster())
    assert code == 1 and result["msg"] == "Invalid options: operators[1].package must not be empty"
