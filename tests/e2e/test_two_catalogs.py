"""Two CatalogSources offering the same package: preflight and olm_operator read the same PackageManifest.

The package server names a PackageManifest after its package only; with two
catalogs offering it, a GET by name answers with one of them (here the other
catalog's) and only the ``catalog`` label tells them apart.
"""

from __future__ import annotations

from tests.helpers import http, run_module, writes

V1A1 = "operators.coreos.com/v1alpha1"
PM = "/apis/packages.operators.coreos.com/v1/namespaces/openshift-marketplace/packagemanifests"
SERVERLESS = {
    "component": "OpenShift Serverless operator",
    "package": "serverless-operator",
    "channel": "stable",
    "namespace": "openshift-serverless",
    "subscription_name": "serverless-operator",
    "operator_group_name": "serverless-operator-group",
}
TWO_CATALOGS = {"extra_catalogs": ("community-operators",), "delays": {"olm_install": 0.3}}


def get_by_name(cluster, package):
    status, _headers, body = http(cluster, "GET", PM + "/" + package)
    assert status == 200, body
    return body


def test_the_cluster_offers_the_package_twice(cluster_factory):
    cluster = cluster_factory(**TWO_CATALOGS)
    assert get_by_name(cluster, "serverless-operator")["status"]["catalogSource"] == "community-operators"
    status, _headers, listing = http(cluster, "GET", PM + "?fieldSelector=metadata.name%3Dserverless-operator")
    assert status == 200
    assert sorted(i["metadata"]["labels"]["catalog"] for i in listing["items"]) == [
        "community-operators", "redhat-operators"]


def test_olm_operator_installs_from_the_catalog_asked_for(cluster_factory, tmp_path):
    cluster = cluster_factory(**TWO_CATALOGS)
    args = {**SERVERLESS, "source": "redhat-operators", "wait": True, "wait_timeout": 60, "wait_sleep": 0.1}
    _output, result = run_module(cluster, tmp_path, "olm_operator", args)
    assert not result.get("failed"), result["msg"]
    assert result["changed"] is True and result["ready"] is True
    assert result["created"] == ["Namespace/openshift-serverless",
                                 "OperatorGroup/openshift-serverless/serverless-operator-group",
                                 "Subscription/openshift-serverless/serverless-operator"]
    assert result["csv"] == {"name": "serverless-operator.v1.34.1", "phase": "Succeeded"}
    sub = cluster.store.get(V1A1, "Subscription", "serverless-operator", "openshift-serverless")
    assert (sub["spec"]["source"], sub["spec"]["sourceNamespace"]) == ("redhat-operators", "openshift-marketplace")
    csv = cluster.store.get(V1A1, "ClusterServiceVersion", "serverless-operator.v1.34.1", "openshift-serverless")
    assert csv["status"]["phase"] == "Succeeded"


def test_preflight_and_olm_operator_agree(cluster_factory, tmp_path):
    cluster = cluster_factory(**TWO_CATALOGS)
    packages = [{"name": "serverless-operator", "channel": "stable"}, {"name": "rhdh", "channel": "fast-1.3"}]
    _output, checks = run_module(cluster, tmp_path, "preflight",
                                 {"catalog_source": "redhat-operators", "packages": packages})
    assert checks["problems"] == [], checks["report"]
    assert {c["name"] for c in checks["checks"]} >= {"package/serverless-operator", "package/rhdh"}
    _output, result = run_module(cluster, tmp_path, "olm_operator", {**SERVERLESS, "source": "redhat-operators"})
    assert not result.get("failed"), result["msg"]
    assert result["changed"] is True


def test_a_catalog_that_does_not_offer_the_package_fails_before_any_write(cluster_factory, tmp_path):
    cluster = cluster_factory(**TWO_CATALOGS)
    cluster.requests.reset()
    _output, result = run_module(cluster, tmp_path, "olm_operator", {**SERVERLESS, "source": "certified-operators"})
    assert result["failed"] is True
    assert result["msg"] == ("OpenShift Serverless operator: package serverless-operator comes from catalog "
                             "openshift-marketplace/community-operators, not from "
                             "openshift-marketplace/certified-operators")
    assert writes(cluster, reviews=True) == [] and writes(cluster, dry_run=True, reviews=True) == []
