"""The one catalog lookup (olm_operator and preflight) and the Installer's use of the shared core."""

import copy

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import olm, olm_install
from ansible_collections.parodos.orchestrator.plugins.module_utils import preflight as pf
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from tests.unit.fakes import Clock, real_api

NS = "openshift-marketplace"
PKG = "serverless-operator"
BASE = olm.package_manifest_path(NS, "")
BY_NAME = olm.package_manifest_path(NS, PKG)
QUERY = {"labelSelector": "catalog=redhat-operators", "fieldSelector": "metadata.name=" + PKG}


def manifest(catalog, channels=("stable",), name=PKG):
    return {"metadata": {"name": name, "namespace": NS, "labels": {"catalog": catalog, "catalog-namespace": NS}},
            "status": {"catalogSource": catalog, "catalogSourceNamespace": NS, "packageName": name,
                       "defaultChannel": channels[0],
                       "channels": [{"name": c, "currentCSV": "%s.v1.0.0" % name} for c in channels]}}


class PackageServer:
    """What a package server answers: GET by name gives the first catalog's, a list filters by labels and name."""

    def __init__(self, *manifests):
        self.manifests = list(manifests)
        self.requests = []
        self.error = None

    def get(self, path, query=None):
        self.requests.append((path, query))
        if self.error is not None:
            raise self.error
        if path == BASE:
            wanted = dict(part.split("=", 1) for part in (query or {}).get("labelSelector", "").split(",") if part)
            name = (query or {}).get("fieldSelector", "=").split("=", 1)[1]
            return {"items": [copy.deepcopy(m) for m in self.manifests
                              if (not name or m["metadata"]["name"] == name)
                              and all(m["metadata"]["labels"].get(k) == v for k, v in wanted.items())]}
        for item in self.manifests:
            if path == olm.package_manifest_path(NS, item["metadata"]["name"]):
                return copy.deepcopy(item)
        raise ApiError('packagemanifests "%s" not found' % path.rsplit("/", 1)[1], 404, "NotFound")


# -- find_package ------------------------------------------------------------------------------


def test_the_manifest_of_the_catalog_asked_for_takes_one_read():
    server = PackageServer(manifest("redhat-operators"), manifest("community-operators"))
    found = olm_install.find_package(server, NS, PKG, "redhat-operators")
    assert found["status"]["catalogSource"] == "redhat-operators"
    assert server.requests == [(BY_NAME, None)]


def test_an_ambiguous_name_is_resolved_by_the_catalog_label():
    server = PackageServer(manifest("community-operators", ("candidate",)), manifest("redhat-operators"))
    found = olm_install.find_package(server, NS, PKG, "redhat-operators")
    assert found["metadata"]["labels"]["catalog"] == "redhat-operators"
    assert olm.channel_names(found) == ["stable"]
    assert server.requests == [(BY_NAME, None), (BASE, QUERY)]


def test_a_package_only_another_catalog_offers_is_reported_as_theirs():
    server = PackageServer(manifest("community-operators"))
    found = olm_install.find_package(server, NS, PKG, "redhat-operators")
    assert found["status"]["catalogSource"] == "community-operators"
    params = {"package": PKG, "source": "redhat-operators", "source_namespace": NS, "channel": "stable",
              "starting_csv": ""}
    assert olm.package_problem(found, params) == (
        "package serverless-operator comes from catalog openshift-marketplace/community-operators, "
        "not from openshift-marketplace/redhat-operators")


def test_an_unknown_package_is_none_and_other_failures_raise():
    assert olm_install.find_package(PackageServer(), NS, PKG, "redhat-operators") is None
    server = PackageServer(manifest("redhat-operators"))
    server.error = ApiError("forbidden", 403, "Forbidden")
    with pytest.raises(ApiError):
        olm_install.find_package(server, NS, PKG, "redhat-operators")


def test_a_manifest_of_the_same_catalog_name_in_another_namespace_is_not_it():
    other = manifest("redhat-operators")
    other["status"]["catalogSourceNamespace"] = "team"
    assert not olm.offered_by(other, "redhat-operators", NS)
    assert olm.offered_by(manifest("redhat-operators"), "redhat-operators", NS)
    assert not olm.offered_by(None, "redhat-operators", NS)


def test_preflight_reads_the_package_the_same_way():
    server = PackageServer(manifest("community-operators", ("candidate",)), manifest("redhat-operators"))
    settings = pf.normalize_settings({"catalog_source": "redhat-operators", "catalog_source_namespace": NS,
                                      "packages": [{"name": PKG, "channel": "stable"}, {"name": "rhdh"}]})
    catalogs = {olm.olm_path("catalogsources", NS, "redhat-operators"): {
        "status": {"connectionState": {"lastObservedState": "READY"}}}}
    real_get = server.get
    server.get = lambda path, query=None: copy.deepcopy(catalogs[path]) if path in catalogs else real_get(path, query)
    obs = {}
    errors = []
    pf._gather_catalog(server, settings, obs, errors)
    assert obs["packages"] == {PKG: {"channels": ["stable"], "default_channel": "stable"}, "rhdh": None}
    assert errors == []
    check = pf.check_package(settings, obs, settings["packages"][0])
    assert check["passed"] is True, check


def test_preflight_records_a_failed_package_read():
    server = PackageServer(manifest("redhat-operators"))
    server.error = ApiError("forbidden", 403, "Forbidden")
    settings = pf.normalize_settings({"catalog_source": "redhat-operators", "catalog_source_namespace": NS,
                                      "packages": [{"name": PKG}]})
    obs = {"catalog": None}
    errors = []
    server_get = server.get

    def get(path, query=None):
        if "/catalogsources/" in path:
            return {"status": {"connectionState": {"lastObservedState": "READY"}}}
        return server_get(path, query)
    server.get = get
    pf._gather_catalog(server, settings, obs, errors)
    assert obs["packages"] == {PKG: None}
    assert errors == ["GET %s: forbidden" % BY_NAME]


# -- the Installer on the shared core ------------------------------------------------------------


PARAMS = {"component": "Serverless", "package": PKG, "channel": "stable", "source": "redhat-operators",
          "source_namespace": NS, "approval": "Automatic", "starting_csv": "", "namespace": "openshift-serverless",
          "subscription_name": PKG, "operator_group_name": "serverless", "operator_group_target_namespaces": [],
          "labels": {}, "wait": False, "wait_timeout": 600, "wait_sleep": 2}
SUBS = olm.olm_path("subscriptions")


class Cluster(PackageServer):
    """The package server plus the few objects olm_operator reads and writes before waiting."""

    def __init__(self, *manifests):
        super().__init__(*manifests)
        self.objects = {}
        self.writes = []
        self.faults = []
        self.conflict_on = set()

    def get(self, path, query=None):
        if self.faults:
            status = self.faults.pop(0)
            if status:
                self.requests.append((path, query))
                raise ApiError("injected", status, "InternalError")
        if path in self.objects:
            self.requests.append((path, query))
            return copy.deepcopy(self.objects[path])
        if path in (SUBS, olm.olm_path("operatorgroups", PARAMS["namespace"])):
            self.requests.append((path, query))
            return {"items": [copy.deepcopy(o) for p, o in self.objects.items() if p.startswith(path + "/")]}
        if "packagemanifests" in path:
            return super().get(path, query)
        self.requests.append((path, query))
        raise ApiError("not found", 404, "NotFound")

    def create(self, path, body, dry_run=False):
        self.writes.append(("POST", path, dry_run))
        if path in self.conflict_on:
            raise ApiError("already exists", 409, "AlreadyExists")
        if not dry_run:
            self.objects[path + "/" + body["metadata"]["name"]] = copy.deepcopy(body)
        return body


def test_installs_from_the_catalog_asked_for_when_two_offer_the_package():
    cluster = Cluster(manifest("community-operators", ("candidate",)), manifest("redhat-operators"))
    result = olm_install.Installer(cluster, dict(PARAMS), False).run()
    assert result["created"] == ["Namespace/openshift-serverless", "OperatorGroup/openshift-serverless/serverless",
                                 "Subscription/openshift-serverless/serverless-operator"]
    sub = cluster.objects[olm.olm_path("subscriptions", "openshift-serverless") + "/" + PKG]
    assert sub["spec"]["source"] == "redhat-operators" and sub["spec"]["channel"] == "stable"


def test_reads_before_writing_are_retried_by_the_api_not_by_the_installer(monkeypatch):
    clock = Clock()
    cluster = Cluster(manifest("redhat-operators"))
    cluster.faults = [503, 500, None, 502]  # the Subscriptions twice, then the manifest once
    api = real_api(cluster, monkeypatch, clock, timeout=60)
    result = olm_install.Installer(api, dict(PARAMS), False).run()
    assert result["changed"] is True and len(cluster.writes) == 3
    assert clock.slept == [0.25, 0.5, 0.25]  # k8s.Api's backoff, one run per request
    assert [p for p, q in cluster.requests[:5]] == [SUBS, SUBS, SUBS, BY_NAME, BY_NAME]


def test_a_namespace_made_meanwhile_is_kept():
    cluster = Cluster(manifest("redhat-operators"))
    cluster.conflict_on.add("/api/v1/namespaces")
    result = olm_install.Installer(cluster, dict(PARAMS), False).run()
    assert result["created"] == ["OperatorGroup/openshift-serverless/serverless",
                                 "Subscription/openshift-serverless/serverless-operator"]
    assert cluster.writes[0] == ("POST", "/api/v1/namespaces", False)


def test_the_namespace_is_made_by_the_applier_with_our_labels(monkeypatch):
    made = []
    real = olm_install.ap.Applier.ensure_namespace

    def ensure_namespace(self, name, labels=None):
        made.append((name, dict(self.labels), self.check_mode))
        return real(self, name, labels)
    monkeypatch.setattr(olm_install.ap.Applier, "ensure_namespace", ensure_namespace)
    cluster = Cluster(manifest("redhat-operators"))
    olm_install.Installer(cluster, dict(PARAMS, labels={"team": "a"}), True).run()
    assert made == [("openshift-serverless", {**olm.OWNERSHIP_LABELS, "team": "a"}, True)]
    assert cluster.writes == [("POST", "/api/v1/namespaces", True),
                              ("POST", olm.olm_path("operatorgroups", "openshift-serverless"), True),
                              ("POST", olm.olm_path("subscriptions", "openshift-serverless"), True)]


def test_option_errors():
    assert olm_install.option_errors(dict(PARAMS)) == []
    assert olm_install.option_errors(dict(PARAMS, package="", wait_sleep=0)) == [
        "package must not be empty", "wait_timeout must be >= 0 and wait_sleep > 0"]
