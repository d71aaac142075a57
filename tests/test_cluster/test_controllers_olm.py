"""The simulated OLM: Subscription -> InstallPlan -> CSV -> CRDs and operator Deployments."""

from __future__ import annotations

from tests.cluster.catalog import operator_catalog
from tests.test_cluster.test_controllers_manager import SUB_API, Sim, cond, status_of

CRD_API = "apiextensions.k8s.io/v1"


def csv_of(sim: Sim, name: str, namespace: str) -> dict | None:
    return sim.get(SUB_API, "ClusterServiceVersion", name, namespace)


def plans(sim: Sim, namespace: str) -> list[dict]:
    return sim.store.list(SUB_API, "InstallPlan", namespace)


def test_automatic_install_of_serverless_reaches_succeeded():
    sim = Sim()
    sub = sim.install("openshift-serverless", "serverless-operator", "stable")
    st = status_of(sub)
    assert st["state"] == "AtLatestKnown"
    assert st["installedCSV"] == st["currentCSV"] == "serverless-operator.v1.34.1"
    assert st["installplan"]["name"].startswith("install-") and st["installplan"]["uuid"]
    assert st["installPlanRef"]["kind"] == "InstallPlan"
    assert cond(sub, "CatalogSourcesUnhealthy")["reason"] == "AllCatalogSourcesHealthy"
    assert "operators.coreos.com/serverless-operator.openshift-serverless" in sub["metadata"]["labels"]

    csv = csv_of(sim, "serverless-operator.v1.34.1", "openshift-serverless")
    phases = [c["phase"] for c in csv["status"]["conditions"]]
    assert phases == ["Pending", "InstallReady", "Installing", "Succeeded"]
    assert csv["status"]["reason"] == "InstallSucceeded"
    assert csv["status"]["message"] == "install strategy completed with no errors"
    ann = csv["metadata"]["annotations"]
    assert ann["olm.operatorGroup"] == "openshift-serverless-group"
    assert ann["olm.operatorNamespace"] == "openshift-serverless"
    assert ann["olm.targetNamespaces"] == ""

    (ip,) = plans(sim, "openshift-serverless")
    assert ip["spec"]["approved"] is True and ip["spec"]["approval"] == "Automatic"
    assert ip["spec"]["clusterServiceVersionNames"] == ["serverless-operator.v1.34.1"]
    assert ip["metadata"]["ownerReferences"][0]["uid"] == sub["metadata"]["uid"]
    assert ip["status"]["phase"] == "Complete"

    dep = sim.get("apps/v1", "Deployment", "knative-openshift", "openshift-serverless")
    assert cond(dep, "Available")["status"] == "True"
    assert dep["metadata"]["ownerReferences"][0]["kind"] == "ClusterServiceVersion"
    for crd in ("knativeservings.operator.knative.dev", "knativeeventings.operator.knative.dev"):
        assert sim.get(CRD_API, "CustomResourceDefinition", crd) is not None
    assert sim.store.resource("operator.knative.dev/v1beta1", "KnativeServing").namespaced
    og = sim.get("operators.coreos.com/v1", "OperatorGroup", "openshift-serverless-group", "openshift-serverless")
    assert og["status"]["namespaces"] == [""]


def test_delays_are_measured_from_first_sight():
    sim = Sim(delays={"olm_resolve": 5, "olm_install": 20})
    sim.operator_group("rhdh-operator", "rhdh-operator-group")
    sim.subscription("rhdh-operator", "rhdh", "rhdh", "fast-1.3")
    sim.run(3)
    assert not status_of(sim.get(SUB_API, "Subscription", "rhdh", "rhdh-operator")).get("currentCSV")
    assert plans(sim, "rhdh-operator") == []
    sim.run(3, advance=6)
    sub = sim.get(SUB_API, "Subscription", "rhdh", "rhdh-operator")
    assert status_of(sub)["currentCSV"] == "rhdh-operator.v1.3.1"
    csv = csv_of(sim, "rhdh-operator.v1.3.1", "rhdh-operator")
    assert csv["status"]["phase"] == "Installing"
    dep = sim.get("apps/v1", "Deployment", "rhdh-operator", "rhdh-operator")
    assert cond(dep, "Available").get("status") != "True"
    sim.run(3, advance=21)
    assert csv_of(sim, "rhdh-operator.v1.3.1", "rhdh-operator")["status"]["phase"] == "Succeeded"


def test_starting_csv_with_automatic_approval_upgrades_along_the_channel():
    sim = Sim()
    sub = sim.install("openshift-serverless-logic", "logic-operator-rhel8", "alpha",
                      startingCSV="logic-operator-rhel8.v1.34.0")
    assert status_of(sub)["installedCSV"] == "logic-operator-rhel8.v1.35.0"
    names = sorted(ip["spec"]["clusterServiceVersionNames"][0] for ip in plans(sim, "openshift-serverless-logic"))
    assert names == ["logic-operator-rhel8.v1.34.0", "logic-operator-rhel8.v1.35.0"]
    assert csv_of(sim, "logic-operator-rhel8.v1.34.0", "openshift-serverless-logic") is None
    new = csv_of(sim, "logic-operator-rhel8.v1.35.0", "openshift-serverless-logic")
    assert new["spec"]["replaces"] == "logic-operator-rhel8.v1.34.0"
    dep = sim.get("apps/v1", "Deployment", "logic-operator-rhel8-controller-manager", "openshift-serverless-logic")
    assert dep["metadata"]["labels"]["olm.owner"] == "logic-operator-rhel8.v1.35.0"
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1.35.0")


def test_manual_approval_waits_and_the_newer_plan_stays_unapproved():
    sim = Sim()
    ns = "openshift-serverless-logic"
    sim.operator_group(ns, "openshift-serverless-logic")
    sim.subscription(ns, "logic-operator-rhel8", "logic-operator-rhel8", "alpha",
                     startingCSV="logic-operator-rhel8.v1.34.0", installPlanApproval="Manual")
    sim.run(4)
    sub = sim.get(SUB_API, "Subscription", "logic-operator-rhel8", ns)
    assert status_of(sub)["state"] == "UpgradePending"
    assert cond(sub, "InstallPlanPending")["reason"] == "RequiresApproval"
    (ip,) = plans(sim, ns)
    assert ip["spec"]["approved"] is False and ip["status"]["phase"] == "RequiresApproval"
    assert csv_of(sim, "logic-operator-rhel8.v1.34.0", ns) is None

    sim.store.patch(SUB_API, "InstallPlan", ip["metadata"]["name"], ns, {"spec": {"approved": True}},
                    patch_type="merge", manager="test")
    sim.run(6)
    assert csv_of(sim, "logic-operator-rhel8.v1.34.0", ns)["status"]["phase"] == "Succeeded"
    sub = sim.get(SUB_API, "Subscription", "logic-operator-rhel8", ns)
    st = status_of(sub)
    assert st["installedCSV"] == "logic-operator-rhel8.v1.34.0"
    assert st["currentCSV"] == "logic-operator-rhel8.v1.35.0"
    assert st["state"] == "UpgradePending"
    pending = [p for p in plans(sim, ns) if p["metadata"]["name"] != ip["metadata"]["name"]]
    assert len(pending) == 1
    sim.run(6, advance=600)
    newer = sim.get(SUB_API, "InstallPlan", pending[0]["metadata"]["name"], ns)
    assert newer["spec"]["approved"] is False
    assert newer["status"]["phase"] == "RequiresApproval"
    assert csv_of(sim, "logic-operator-rhel8.v1.35.0", ns) is None
    assert len(plans(sim, ns)) == 2


def test_unknown_package_or_channel_fails_resolution():
    sim = Sim()
    sim.operator_group("ops", "ops")
    sim.subscription("ops", "nope", "no-such-package", "stable")
    sim.subscription("ops", "rhdh", "rhdh", "fast-9.9")
    sim.run(3)
    nope = sim.get(SUB_API, "Subscription", "nope", "ops")
    assert cond(nope, "ResolutionFailed")["reason"] == "ConstraintsNotSatisfiable"
    assert "no operators found in package no-such-package" in cond(nope, "ResolutionFailed")["message"]
    rhdh = sim.get(SUB_API, "Subscription", "rhdh", "ops")
    assert "no operators found in channel fast-9.9 of package rhdh" in cond(rhdh, "ResolutionFailed")["message"]
    assert plans(sim, "ops") == []


def test_unhealthy_catalog_prevents_resolution():
    sim = Sim(catalog_ready=False)
    sim.operator_group("ops", "ops")
    sim.subscription("ops", "rhdh", "rhdh", "fast")
    sim.run(3)
    sub = sim.get(SUB_API, "Subscription", "rhdh", "ops")
    assert cond(sub, "CatalogSourcesUnhealthy")["status"] == "True"
    assert cond(sub, "ResolutionFailed")["reason"] == "ErrorPreventedResolution"


def test_operator_group_problems_fail_the_csv():
    sim = Sim()
    sim.subscription("no-og", "rhdh", "rhdh", "fast")
    sim.operator_group("two-og", "a")
    sim.operator_group("two-og", "b")
    sim.subscription("two-og", "rhdh", "rhdh", "fast")
    sim.operator_group("own-og", "own", {"targetNamespaces": ["own-og"]})
    sim.subscription("own-og", "rhdh", "rhdh", "fast")
    sim.run(4)
    csv = "rhdh-operator.v1.4.1"
    assert csv_of(sim, csv, "no-og")["status"]["reason"] == "NoOperatorGroup"
    assert csv_of(sim, csv, "no-og")["status"]["phase"] == "Failed"
    assert csv_of(sim, csv, "two-og")["status"]["reason"] == "TooManyOperatorGroups"
    own = csv_of(sim, csv, "own-og")["status"]
    assert own["reason"] == "UnsupportedOperatorGroup"
    assert own["message"].startswith("OwnNamespace InstallModeType not supported")
    assert sim.get("apps/v1", "Deployment", "rhdh-operator", "no-og") is None
    # adding the OperatorGroup lets the CSV install
    sim.operator_group("no-og", "og")
    sim.run(4)
    assert csv_of(sim, csv, "no-og")["status"]["phase"] == "Succeeded"


def test_failing_package_csv_fails_install():
    sim = Sim(failing_packages={"rhdh"})
    sim.install("rhdh-operator", "rhdh", "fast-1.3")
    csv = csv_of(sim, "rhdh-operator.v1.3.1", "rhdh-operator")
    assert csv["status"]["phase"] == "Failed"
    assert csv["status"]["reason"] == "InstallComponentFailed"
    assert csv["status"]["message"].startswith("install strategy failed:")
    dep = sim.get("apps/v1", "Deployment", "rhdh-operator", "rhdh-operator")
    assert cond(dep, "Available").get("status") == "False"


def test_deleting_csv_removes_operator_deployments_but_keeps_crds_and_csv_survives_sub_deletion():
    sim = Sim()
    ns = "rhdh-operator"
    sim.install(ns, "rhdh", "fast-1.3")
    sim.store.delete(SUB_API, "Subscription", "rhdh", ns)
    sim.run(3)
    assert csv_of(sim, "rhdh-operator.v1.3.1", ns)["status"]["phase"] == "Succeeded"
    assert sim.get("apps/v1", "Deployment", "rhdh-operator", ns) is not None
    sim.store.delete(SUB_API, "ClusterServiceVersion", "rhdh-operator.v1.3.1", ns)
    sim.run(3)
    assert sim.get("apps/v1", "Deployment", "rhdh-operator", ns) is None
    assert sim.get(CRD_API, "CustomResourceDefinition", "backstages.rhdh.redhat.com") is not None


def test_deleted_csv_is_reinstalled_while_the_subscription_exists_and_new_sub_adopts_csv():
    sim = Sim()
    ns = "rhdh-operator"
    sim.install(ns, "rhdh", "fast-1.3")
    sim.store.delete(SUB_API, "ClusterServiceVersion", "rhdh-operator.v1.3.1", ns)
    sim.run(8)
    assert csv_of(sim, "rhdh-operator.v1.3.1", ns)["status"]["phase"] == "Succeeded"
    assert len(plans(sim, ns)) == 2
    # a Subscription created again next to the surviving CSV adopts it without a new plan
    sim.store.delete(SUB_API, "Subscription", "rhdh", ns)
    sim.run(2)
    sim.subscription(ns, "rhdh", "rhdh", "fast-1.3")
    sim.run(4)
    sub = sim.get(SUB_API, "Subscription", "rhdh", ns)
    assert status_of(sub)["installedCSV"] == "rhdh-operator.v1.3.1"
    assert status_of(sub)["state"] == "AtLatestKnown"


def test_package_manifests_and_extra_channels():
    sim = Sim(extra_channels={"rhdh": {"fast-1.5": "rhdh-operator.v1.5.0"}})
    pm = sim.get("packages.operators.coreos.com/v1", "PackageManifest", "rhdh", "some-namespace")
    assert pm["metadata"]["namespace"] == "some-namespace"
    channels = {c["name"]: c for c in pm["status"]["channels"]}
    assert pm["status"]["defaultChannel"] == "fast"
    assert channels["fast-1.5"]["currentCSV"] == "rhdh-operator.v1.5.0"
    assert [c["name"] for c in pm["status"]["channels"]] == sorted(channels)
    assert pm["status"]["catalogSource"] == "redhat-operators"
    sub = sim.install("rhdh-operator", "rhdh", "fast-1.5")
    assert status_of(sub)["installedCSV"] == "rhdh-operator.v1.5.0"


def test_catalog_contents():
    cat = operator_catalog()
    assert cat["serverless-operator"].default_channel == "stable"
    assert cat["logic-operator-rhel8"].successor("alpha", "logic-operator-rhel8.v1.34.0").name == \
        "logic-operator-rhel8.v1.35.0"
    assert cat["rhdh"].head("fast-1.3").name == "rhdh-operator.v1.3.1"
    assert "knative-openshift" in cat["serverless-operator"].deployments
    extra = operator_catalog({"rhdh": {"fast-1.3": "rhdh-operator.v1.3.9"}})
    assert extra["rhdh"].head("fast-1.3").replaces == "rhdh-operator.v1.3.1"
    assert operator_catalog()["rhdh"].head("fast-1.3").name == "rhdh-operator.v1.3.1"
