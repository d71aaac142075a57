"""The one catalog lookup (olm_operator and preflight) and the Installer's use of the shared core."""

import copy

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import olm, olm_install
from ansible_collections.parodos.orchestrator.plugins.module_utils import preflight as pf
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from tests.unit.fakes import Clock, FakeApi, real_api

NS = "openshift-marketplace"
PKG = "serverless-operator"
BASE = olm.package_manifest_path(NS, "")
BY_NAME = olm.package_manifest_path(NS, PKG)
QUERY = {"labelSelector": "catalog=redhat-operators", "fieldSelector": "metadata.name=" + PKG}
CATALOG = olm.olm_path("catalogsources", NS, "redhat-operators")
READY = {"metadata": {"name": "redhat-operators", "namespace": NS},
         "status": {"connectionState": {"lastObservedState": "READY"}}}


def manifest(catalog, channels=("stable",), name=PKG):
    return {"metadata": {"name": name, "namespace": NS, "labels": {"catalog": catalog, "catalog-namespace": NS}},
            "status": {"catalogSource": catalog, "catalogSourceNamespace": NS, "packageName": name,
                       "defaultChannel": channels[0],
                       "channels": [{"name": c, "currentCSV": "%s.v1.0.0" % name} for c in channels]}}


def package_server(*manifests, served=(), **options):
    """A FakeApi holding ``manifests`` as the package server answers them: a GET by name gives the first
    of a name, a list every one (later ones of a name are namesakes); ``options`` go to FakeApi."""
    api = FakeApi(served=(BASE,) + tuple(served), **options)
    for item in manifests:
        path = olm.package_manifest_path(NS, item["metadata"]["name"])
        if path in api.objects:
            path += "#" + item["metadata"]["labels"]["catalog"]
        api.objects[path] = copy.deepcopy(item)
    return api


# -- find_package ------------------------------------------------------------------------------


def test_the_manifest_of_the_catalog_asked_for_takes_one_read():
    server = package_server(manifest("redhat-operators"), manifest("community-operators"))
    found = olm_install.find_package(server, NS, PKG, "redhat-operators")
    assert found["status"]["catalogSource"] == "redhat-operators"
    assert server.calls("path", "query") == [(BY_NAME, None)]


def test_an_ambiguous_name_is_resolved_by_the_catalog_label():
    server = package_server(manifest("community-operators", ("candidate",)), manifest("redhat-operators"))
    found = olm_install.find_package(server, NS, PKG, "redhat-operators")
    assert found["metadata"]["labels"]["catalog"] == "redhat-operators"
    assert olm.channel_names(found) == ["stable"]
    assert server.calls("path", "query") == [(BY_NAME, None), (BASE, QUERY)]


def test_a_package_only_another_catalog_offers_is_reported_as_theirs():
    server = package_server(manifest("community-operators"))
    found = olm_install.find_package(server, NS, PKG, "redhat-operators")
    assert found["status"]["catalogSource"] == "community-operators"
    params = {"package": PKG, "source": "redhat-operators", "source_namespace": NS, "channel": "stable",
              "starting_csv": ""}
    assert olm.package_problem(found, params) == (
        "package serverless-operator comes from catalog openshift-marketplace/community-operators, "
        "not from openshift-marketplace/redhat-operators")


def test_an_unknown_package_is_none_and_other_failures_raise():
    server = package_server()
    assert olm_install.find_package(server, NS, PKG, "redhat-operators") is None
    assert server.calls("path", "query") == [(BY_NAME, None)]
    server = package_server(manifest("redhat-operators"))
    server.fail(ApiError("forbidden", 403, "Forbidden"))
    with pytest.raises(ApiError) as exc:
        olm_install.find_package(server, NS, PKG, "redhat-operators")
    assert exc.value.status == 403


def test_a_manifest_of_the_same_catalog_name_in_another_namespace_is_not_it():
    other = manifest("redhat-operators")
    other["status"]["catalogSourceNamespace"] = "team"
    assert not olm.offered_by(other, "redhat-operators", NS)
    assert olm.offered_by(manifest("redhat-operators"), "redhat-operators", NS)
    assert not olm.offered_by(None, "redhat-operators", NS)


def test_preflight_reads_the_package_the_same_way():
    server = package_server(manifest("community-operators", ("candidate",)), manifest("redhat-operators"))
    settings = pf.normalize_settings({"catalog_source": "redhat-operators", "catalog_source_namespace": NS,
                                      "packages": [{"name": PKG, "channel": "stable"}, {"name": "rhdh"}]})
    server.objects[CATALOG] = READY
    obs = {}
    errors = []
    pf._gather_catalog(server, settings, obs, errors)
    assert obs["packages"] == {PKG: {"channels": ["stable"], "default_channel": "stable"}, "rhdh": None}
    assert errors == []
    check = pf.check_package(settings, obs, settings["packages"][0])
    assert check["passed"] is True, check


def test_preflight_records_a_failed_package_read():
    server = package_server(manifest("redhat-operators"), objects={CATALOG: READY})
    server.fail(ApiError("forbidden", 403, "Forbidden"), path=lambda path: path != CATALOG)
    settings = pf.normalize_settings({"catalog_source": "redhat-operators", "catalog_source_namespace": NS,
                                      "packages": [{"name": PKG}]})
    obs = {"catalog": None}
    errors = []
    pf._gather_catalog(server, settings, obs, errors)
    assert obs["packages"] == {PKG: None}
    assert errors == ["GET %s: forbidden" % BY_NAME]
    assert server.paths() == [CATALOG, BY_NAME]


# -- the Installer on the shared core ------------------------------------------------------------


PARAMS = {"component": "Serverless", "package": PKG, "channel": "stable", "source": "redhat-operators",
          "source_namespace": NS, "approval": "Automatic", "starting_csv": "", "namespace": "openshift-serverless",
          "subscription_name": PKG, "operator_group_name": "serverless", "operator_group_target_namespaces": [],
          "labels": {}, "wait": False, "wait_timeout": 600, "wait_sleep": 2}
SUBS = olm.olm_path("subscriptions")
NAMESPACES = "/api/v1/namespaces"
# OLM's resources (served on every OpenShift cluster, listed even when empty)
OLM_SERVED = (SUBS, olm.olm_path("installplans"), olm.olm_path("clusterserviceversions"),
              olm.olm_path("operatorgroups"))


def cluster_of(*manifests):
    """The package server's manifests on a cluster serving OLM."""
    return package_server(*manifests, served=OLM_SERVED)


def test_installs_from_the_catalog_asked_for_when_two_offer_the_package():
    cluster = cluster_of(manifest("community-operators", ("candidate",)), manifest("redhat-operators"))
    result = olm_install.Installer(cluster, dict(PARAMS), False).run()
    assert result["created"] == ["Namespace/openshift-serverless", "OperatorGroup/openshift-serverless/serverless",
                                 "Subscription/openshift-serverless/serverless-operator"]
    sub = cluster.objects[olm.olm_path("subscriptions", "openshift-serverless") + "/" + PKG]
    assert sub["spec"]["source"] == "redhat-operators" and sub["spec"]["channel"] == "stable"


def test_reads_before_writing_are_retried_by_the_api_not_by_the_installer(monkeypatch):
    clock = Clock()
    cluster = cluster_of(manifest("redhat-operators"))
    cluster.inject([503, 500, None, 502], method="GET")  # the Subscriptions twice, then the manifest once
    api = real_api(cluster, monkeypatch, clock, timeout=60)
    result = olm_install.Installer(api, dict(PARAMS), False).run()
    assert result["changed"] is True and len(cluster.writes()) == 3 and cluster.pending() == 0
    assert clock.slept == [0.25, 0.5, 0.25]  # k8s.Api's backoff, one run per request
    assert cluster.paths()[:5] == [SUBS, SUBS, SUBS, BY_NAME, BY_NAME]


def test_a_namespace_made_meanwhile_is_kept():
    cluster = cluster_of(manifest("redhat-operators"))
    made = {"metadata": {"name": "openshift-serverless", "labels": {"team": "theirs"}}}
    cluster.on_request(lambda api: api.objects.setdefault(NAMESPACES + "/openshift-serverless", copy.deepcopy(made)),
                       method="POST", path=NAMESPACES, times=1)  # between the Applier's read and its create
    result = olm_install.Installer(cluster, dict(PARAMS), False).run()
    assert result["created"] == ["OperatorGroup/openshift-serverless/serverless",
                                 "Subscription/openshift-serverless/serverless-operator"]
    assert cluster.writes()[0] == ("POST", NAMESPACES, False)
    assert cluster.objects[NAMESPACES + "/openshift-serverless"] == made  # kept as it is


def test_the_namespace_is_made_by_the_applier_with_our_labels(monkeypatch):
    made = []
    real = olm_install.ap.Applier.ensure_namespace

    def ensure_namespace(self, name, labels=None):
        made.append((name, dict(self.labels), self.check_mode))
        return real(self, name, labels)
    monkeypatch.setattr(olm_install.ap.Applier, "ensure_namespace", ensure_namespace)
    cluster = cluster_of(manifest("redhat-operators"))
    olm_install.Installer(cluster, dict(PARAMS, labels={"team": "a"}), True).run()
    assert made == [("openshift-serverless", {**olm.OWNERSHIP_LABELS, "team": "a"}, True)]
    assert cluster.writes() == [("POST", NAMESPACES, True),
                                ("POST", olm.olm_path("operatorgroups", "openshift-serverless"), True),
                                ("POST", olm.olm_path("subscriptions", "openshift-serverless"), True)]


def test_option_errors():
    assert olm_install.option_errors(dict(PARAMS)) == []
    assert olm_install.option_errors(dict(PARAMS, package="", wait_sleep=0)) == [
        "package must not be empty", "wait_timeout must be >= 0 and wait_sleep > 0"]
