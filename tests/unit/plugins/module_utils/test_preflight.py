"""Decisions of the preflight checks (pure functions) and the gathering pass."""

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import preflight as pf
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from tests.unit.fakes import CRD, PM, SSAR, add_gitops, healthy_routes, preflight_api

PACKAGES = [
    {"name": "serverless-operator", "channel": "stable"},
    {"name": "logic-operator-rhel8", "channel": "alpha"},
    {"name": "rhdh", "channel": "fast-1.3"},
]


OLM_V1ALPHA1 = "/apis/operators.coreos.com/v1alpha1"
OLM_V1 = "/apis/operators.coreos.com/v1"


def settings(**overrides):
    params = {
        "write_access": [{"resource": "namespaces"},
                         {"resource": "customresourcedefinitions", "group": "apiextensions.k8s.io"}],
        "openshift_min_version": "4.13",
        "openshift_max_version": "",
        "require_default_storage_class": True,
        "supported_architectures": ["amd64"],
        "catalog_source": "redhat-operators",
        "catalog_source_namespace": "openshift-marketplace",
        "packages": PACKAGES,
        "gitops": False,
        "tekton": False,
        "argocd_namespace": "orchestrator-gitops",
        "argocd_instance": "",
    }
    params.update(overrides)
    return pf.normalize_settings(params)


def run(api, **overrides):
    s = settings(**overrides)
    return pf.evaluate(s, pf.gather(api, s))


def failed(checks):
    return {c["name"]: c for c in checks if not c["passed"]}


# ---------------------------------------------------------------- versions


@pytest.mark.parametrize("text, expected", [
    ("4.16.8", (4, 16, 8)),
    ("4.13", (4, 13)),
    ("v1.29.7+abc", (1, 29, 7)),
    ("4.16.0-rc.1", (4, 16, 0)),
    ("4.17.0-0.nightly-2024-08-01-000000", (4, 17, 0)),
    ("5", (5,)),
])
def test_parse_version(text, expected):
    assert pf.parse_version(text) == expected


@pytest.mark.parametrize("text", ["", None, "latest", "x4.13"])
def test_parse_version_rejects(text):
    with pytest.raises(ValueError):
        pf.parse_version(text)


@pytest.mark.parametrize("version, low, high, ok", [
    ("4.16.8", "4.13", "", True),
    ("4.13.0", "4.13", "", True),
    ("4.12.30", "4.13", "", False),
    ("3.11.0", "4.13", "", False),
    ("4.16.8", "4.13", "4.16", True),
    ("4.16.99", "4.13", "4.16", True),
    ("4.17.0", "4.13", "4.16", False),
    ("5.0.0", "4.13", "4.16", False),
    ("4.16.8", "4.13", "4.16.7", False),
    ("4.16.7", "4.13", "4.16.7", True),
    ("4.13.1", "4.13.2", "", False),
    ("4.14", "4.13.2", "", True),
    ("4.12.0", "", "", True),
    ("4.20.1", "", "4.20", True),
])
def test_version_in_range(version, low, high, ok):
    assert pf.version_in_range(version, low, high) is ok


@pytest.mark.parametrize("history, expected", [
    ([{"state": "Completed", "version": "4.16.8"}], "4.16.8"),
    ([{"state": "Partial", "version": "4.17.1"}, {"state": "Completed", "version": "4.16.8"}], "4.16.8"),
    ([{"state": "Partial", "version": "4.17.1"}], None),
    ([], None),
])
def test_completed_version(history, expected):
    assert pf.completed_version({"status": {"history": history}}) == expected


@pytest.mark.parametrize("low, high, text", [
    ("4.13", "", "4.13 or newer"),
    ("4.13", "4.16", "4.13 to 4.16"),
    ("", "4.16", "up to 4.16"),
])
def test_describe_range(low, high, text):
    assert pf.describe_range(low, high) == text


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize("overrides, fragment", [
    ({"openshift_min_version": "four"}, "openshift_min_version must look like"),
    ({"openshift_max_version": "4.x"}, "openshift_max_version must look like"),
    ({"openshift_max_version": "4.12"}, "is lower than openshift_min_version"),
    ({"catalog_source": ""}, "catalog_source is required"),
    ({"gitops": True, "argocd_namespace": ""}, "argocd_namespace is required"),
])
def test_settings_errors(overrides, fragment):
    errors = pf.settings_errors(settings(**overrides))
    assert any(fragment in e for e in errors), errors


@pytest.mark.parametrize("overrides", [{}, {"openshift_max_version": "4.13"},
                                       {"openshift_max_version": "4.16"},
                                       {"packages": [], "catalog_source": ""}])
def test_settings_valid(overrides):
    assert pf.settings_errors(settings(**overrides)) == []


@pytest.mark.parametrize("overrides, present, absent", [
    ({}, ["api", "write_access", "openshift", "openshift_version", "cluster_domain", "olm",
          "default_storage_class", "architecture", "catalog_source", "package/rhdh"],
     ["gitops_crds", "argocd_instance", "tekton_needs_gitops"]),
    ({"write_access": [], "require_default_storage_class": False, "supported_architectures": [],
      "packages": []},
     ["api", "openshift", "olm"],
     ["write_access", "default_storage_class", "architecture", "catalog_source", "package/rhdh"]),
    ({"gitops": True}, ["gitops_crds", "argocd_instance"], ["tekton_needs_gitops"]),
    ({"tekton": True}, ["tekton_needs_gitops"], ["gitops_crds"]),
])
def test_applicable_checks(overrides, present, absent):
    names = pf.applicable_checks(settings(**overrides))
    assert set(present) <= set(names)
    assert not set(absent) & set(names)


@pytest.mark.parametrize("overrides, expected", [
    ({}, set()),
    ({"gitops": True}, {"appprojects.argoproj.io", "argocds.argoproj.io"}),
    ({"gitops": True, "tekton": True},
     {"appprojects.argoproj.io", "argocds.argoproj.io",
      "tasks.tekton.dev", "pipelines.tekton.dev"}),
])
def test_crds_to_check(overrides, expected):
    assert set(pf.crds_to_check(settings(**overrides))) == expected


# ---------------------------------------------------------------- whole runs


def test_healthy_cluster_passes_everything():
    api = preflight_api()
    s = settings()
    obs = pf.gather(api, s)
    checks = pf.evaluate(s, obs)
    assert failed(checks) == {}
    assert [c["name"] for c in checks] == pf.applicable_checks(s)
    assert pf.cluster_facts(obs) == {
        "api_url": "https://api.example.test:6443",
        "kubernetes_version": "1.29.7+abc",
        "openshift_version": "4.16.8",
        "domain": "apps.example.test",
        "architectures": ["amd64", "arm64"],
        "default_storage_class": "gp3",
        "olm": True,
    }


def test_only_reads_and_access_reviews():
    api = preflight_api(add_gitops(healthy_routes()))
    run(api, gitops=True, tekton=True)
    posts = [p for m, p in api.calls() if m != "GET"]
    assert posts == ["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"] * 2
    assert api.paths("POST") == [SSAR] * 2


def test_unreachable_gives_one_problem():
    checks = run(preflight_api(unreachable=True))
    assert len(checks) == 1
    assert checks[0]["name"] == "api" and not checks[0]["passed"]
    assert "Cannot reach the Kubernetes API at https://api.example.test:6443" in checks[0]["message"]
    assert checks[0]["hint"]


def test_unauthorized_is_reported_as_credentials():
    routes = healthy_routes()
    routes["/version"] = ApiError("Unauthorized", 401)
    (check,) = run(preflight_api(routes))
    assert "rejected the credentials" in check["message"]


def test_no_write_access():
    bad = failed(run(preflight_api(allowed=False)))
    assert list(bad) == ["write_access"]
    assert "may not create namespaces, create customresourcedefinitions.apiextensions.k8s.io" \
        in bad["write_access"]["message"]
    assert "cluster-admin" in bad["write_access"]["hint"]


def test_kubernetes_without_olm_reports_both_and_skips_dependents():
    routes = {k: v for k, v in healthy_routes().items()
              if "openshift.io" not in k and "operators.coreos.com" not in k}
    bad = failed(run(preflight_api(routes)))
    assert set(bad) == {"openshift", "olm"}
    assert "Not an OpenShift cluster" in bad["openshift"]["message"]
    assert ("missing CRDs subscriptions.operators.coreos.com, operatorgroups.operators.coreos.com, "
            "clusterserviceversions.operators.coreos.com") in bad["olm"]["message"]
    assert "Install OLM" in bad["olm"]["hint"]


V1ALPHA1_ALL = ["subscriptions", "clusterserviceversions", "installplans"]


@pytest.mark.parametrize("apis, missing", [
    ({"operators.coreos.com/v1alpha1": V1ALPHA1_ALL, "operators.coreos.com/v1": ["operatorgroups"]}, []),
    ({}, list(pf.OLM_CRDS)),
    ({"operators.coreos.com/v1alpha1": None, "operators.coreos.com/v1": None}, list(pf.OLM_CRDS)),
    ({"operators.coreos.com/v1alpha1": V1ALPHA1_ALL, "operators.coreos.com/v1": None},
     ["operatorgroups.operators.coreos.com"]),
    ({"operators.coreos.com/v1alpha1": ["subscriptions"], "operators.coreos.com/v1": ["operatorgroups"]},
     ["clusterserviceversions.operators.coreos.com"]),
    # operatorgroups listed under v1alpha1 only does not count: v1 is the version used.
    ({"operators.coreos.com/v1alpha1": V1ALPHA1_ALL + ["operatorgroups"]},
     ["operatorgroups.operators.coreos.com"]),
])
def test_olm_missing(apis, missing):
    obs = {"olm_apis": apis}
    assert pf.olm_missing(obs) == missing
    assert pf.olm_installed(obs) is (not missing)
    result = pf.check_olm(settings(), obs)
    assert result["passed"] is (not missing)
    if missing:
        assert "missing CRDs %s." % ", ".join(missing) in result["message"]


def test_olm_is_read_from_the_subscriptions_list():
    api = preflight_api()
    obs = pf.gather(api, settings(packages=[]))
    olm_reads = [p for m, p in api.calls() if "operators.coreos.com" in p]
    assert olm_reads == [pf.SUBSCRIPTIONS_PATH]
    assert not [p for m, p in api.calls() if p.startswith(pf.CRD_PATH)]
    assert obs["subscriptions"] == [] and pf.olm_installed(obs)


def test_without_the_subscriptions_list_the_discovery_documents_name_what_is_missing():
    routes = healthy_routes()
    del routes[OLM_V1ALPHA1]
    s = settings()
    api = preflight_api(routes)
    obs = pf.gather(api, s)
    assert [p for m, p in api.calls() if "operators.coreos.com" in p] == [pf.SUBSCRIPTIONS_PATH, OLM_V1ALPHA1,
                                                                          OLM_V1]
    bad = failed(pf.evaluate(s, obs))
    assert list(bad) == ["olm"]
    assert bad["olm"]["message"] == (
        "Operator Lifecycle Manager (OLM) is not installed: missing CRDs "
        "subscriptions.operators.coreos.com, clusterserviceversions.operators.coreos.com.")
    assert pf.cluster_facts(obs)["olm"] is False
    assert "catalog_source" not in [c["name"] for c in pf.evaluate(s, obs)]


def resolved_subscription(package, channel, source="redhat-operators", state="AtLatestKnown"):
    return {"metadata": {"name": package, "namespace": "ns-" + package},
            "spec": {"name": package, "channel": channel, "source": source,
                     "sourceNamespace": "openshift-marketplace"},
            "status": {"state": state, "installedCSV": package + ".v1", "currentCSV": package + ".v1"}}


def test_packages_resolved_by_olm_are_not_read_from_the_catalog():
    s = settings()
    wanted = s["packages"]
    routes = healthy_routes()
    subs = [resolved_subscription(p["name"], p["channel"]) for p in wanted]
    routes[pf.SUBSCRIPTIONS_PATH] = {"items": subs}
    api = preflight_api(routes)
    obs = pf.gather(api, s)
    assert not [p for m, p in api.calls() if "catalogsources" in p or "packagemanifests" in p]
    assert failed(pf.evaluate(s, obs)) == {}
    # another channel, another catalog, or a Subscription OLM has not resolved: read from the catalog
    for changed in ({"channel": "other"}, {"source": "community-operators"}, {"state": "UpgradePending"}):
        first = dict(wanted[0], channel=changed.get("channel", wanted[0]["channel"]))
        routes[pf.SUBSCRIPTIONS_PATH] = {"items": [resolved_subscription(
            wanted[0]["name"], first["channel"], changed.get("source", "redhat-operators"),
            changed.get("state", "AtLatestKnown"))] + subs[1:]}
        api = preflight_api(routes)
        obs = pf.gather(api, s)
        reads = [p for m, p in api.calls() if "catalogsources" in p or "packagemanifests" in p]
        assert len(reads) == 2 and wanted[0]["name"] in reads[1], (changed, reads)


def test_olm_discovery_forbidden_is_a_read_error():
    routes = healthy_routes()
    routes[OLM_V1ALPHA1] = ApiError("forbidden", 403)
    s = settings(packages=[])
    obs = pf.gather(preflight_api(routes), s)
    assert obs["read_errors"] == ["GET %s: forbidden" % OLM_V1ALPHA1]
    assert "subscriptions.operators.coreos.com" in failed(pf.evaluate(s, obs))["olm"]["message"]


@pytest.mark.parametrize("version, low, high, fragment", [
    ("4.12.30", "4.13", "", "OpenShift 4.12.30 is older than the minimum supported 4.13"),
    ("4.17.2", "4.13", "4.16", "OpenShift 4.17.2 is newer than the maximum supported 4.16"),
])
def test_openshift_version_out_of_range(version, low, high, fragment):
    routes = healthy_routes()
    routes["/apis/config.openshift.io/v1/clusterversions/version"] = {
        "status": {"history": [{"state": "Completed", "version": version}]}}
    bad = failed(run(preflight_api(routes), openshift_min_version=low, openshift_max_version=high))
    assert list(bad) == ["openshift_version"]
    assert fragment in bad["openshift_version"]["message"]


def test_openshift_version_unknown():
    routes = healthy_routes()
    routes["/apis/config.openshift.io/v1/clusterversions/version"] = {"status": {}}
    bad = failed(run(preflight_api(routes)))
    assert "no Completed entry" in bad["openshift_version"]["message"]


def test_missing_domain():
    routes = healthy_routes()
    routes["/apis/config.openshift.io/v1/ingresses/cluster"] = {"spec": {}}
    assert list(failed(run(preflight_api(routes)))) == ["cluster_domain"]


@pytest.mark.parametrize("require, expect_failure", [(True, True), (False, False)])
def test_default_storage_class(require, expect_failure):
    routes = healthy_routes()
    routes["/apis/storage.k8s.io/v1/storageclasses"] = {"items": [{"metadata": {"name": "slow"}}]}
    bad = failed(run(preflight_api(routes), require_default_storage_class=require))
    assert ("default_storage_class" in bad) is expect_failure
    if expect_failure:
        assert "No default StorageClass" in bad["default_storage_class"]["message"]
        assert "StorageClasses present: slow" in bad["default_storage_class"]["message"]


def test_beta_default_annotation_counts():
    routes = healthy_routes()
    routes["/apis/storage.k8s.io/v1/storageclasses"] = {"items": [{"metadata": {
        "name": "old", "annotations": {"storageclass.beta.kubernetes.io/is-default-class": "true"}}}]}
    obs = pf.gather(preflight_api(routes), settings())
    assert pf.cluster_facts(obs)["default_storage_class"] == "old"


@pytest.mark.parametrize("archs, ok", [(["arm64"], False), (["arm64", "amd64"], True),
                                       (["amd64"], True), ([], False), (["s390x"], False)])
def test_architecture(archs, ok):
    routes = healthy_routes()
    routes["/api/v1/nodes"] = {"items": [
        {"metadata": {"name": "n%d" % i, "labels": {"kubernetes.io/arch": a}}} for i, a in enumerate(archs)]}
    bad = failed(run(preflight_api(routes)))
    assert ("architecture" not in bad) is ok
    if archs == ["arm64"]:
        assert "the nodes are arm64" in bad["architecture"]["message"]
        assert "not built for arm64" in bad["architecture"]["message"]


def test_arch_falls_back_to_node_info():
    routes = healthy_routes()
    routes["/api/v1/nodes"] = {"items": [{"metadata": {"name": "n"},
                                          "status": {"nodeInfo": {"architecture": "amd64"}}}]}
    assert failed(run(preflight_api(routes))) == {}


def test_catalog_missing_skips_packages():
    routes = healthy_routes()
    del routes["/apis/operators.coreos.com/v1alpha1/namespaces/openshift-marketplace/catalogsources/redhat-operators"]
    checks = run(preflight_api(routes))
    assert list(failed(checks)) == ["catalog_source"]
    assert "CatalogSource redhat-operators not found in namespace openshift-marketplace" \
        in failed(checks)["catalog_source"]["message"]
    assert not [c for c in checks if c["name"].startswith("package/")]


def test_catalog_not_ready():
    routes = healthy_routes()
    routes["/apis/operators.coreos.com/v1alpha1/namespaces/openshift-marketplace/catalogsources/redhat-operators"] = {
        "status": {"connectionState": {"lastObservedState": "TRANSIENT_FAILURE"}}}
    bad = failed(run(preflight_api(routes)))
    assert list(bad) == ["catalog_source"]
    assert "is not ready (connection state: TRANSIENT_FAILURE)" in bad["catalog_source"]["message"]


def test_unknown_channel_and_missing_package():
    packages = PACKAGES[:2] + [{"name": "rhdh", "channel": "fast-9.9"}, {"name": "nope", "channel": ""}]
    bad = failed(run(preflight_api(), packages=packages))
    assert set(bad) == {"package/rhdh", "package/nope"}
    assert "Package rhdh has no channel fast-9.9 in catalog redhat-operators (available: fast, fast-1.3)" \
        in bad["package/rhdh"]["message"]
    assert "Operator package nope was not found in catalog redhat-operators" in bad["package/nope"]["message"]


def test_package_from_another_catalog_is_looked_up_by_label():
    routes = healthy_routes()
    routes[PM + "rhdh"]["status"]["catalogSource"] = "community-operators"
    api = preflight_api(routes)
    base = PM.rstrip("/")
    api.objects[base] = {"items": []}
    bad = failed(run(api))
    assert list(bad) == ["package/rhdh"]
    assert ("GET", base) in api.calls()


def test_gitops_missing_crds():
    bad = failed(run(preflight_api(), gitops=True, tekton=True))
    assert set(bad) == {"gitops_crds", "argocd_instance"}
    message = bad["gitops_crds"]["message"]
    for name in ("appprojects.argoproj.io (v1alpha1) is missing", "tasks.tekton.dev (v1) is missing",
                 "pipelines.tekton.dev (v1) is missing"):
        assert name in message
    assert "OpenShift Pipelines" in bad["gitops_crds"]["hint"]


def test_gitops_crd_without_required_version():
    routes = add_gitops(healthy_routes())
    routes[CRD + "tasks.tekton.dev"] = {"spec": {"versions": [{"name": "v1beta1", "served": True}]}}
    bad = failed(run(preflight_api(routes), gitops=True, tekton=True))
    assert "tasks.tekton.dev does not serve v1 (serves v1beta1)" in bad["gitops_crds"]["message"]


@pytest.mark.parametrize("present, wanted, ok, fragment", [
    ("argocd", "", True, ""),
    ("argocd", "argocd", True, ""),
    ("", "", False, "No ArgoCD instance found in namespace orchestrator-gitops"),
    ("argocd", "other", False, "ArgoCD instance other not found in namespace orchestrator-gitops (found: argocd)"),
])
def test_argocd_instance(present, wanted, ok, fragment):
    routes = add_gitops(healthy_routes(), tekton=False, instance=present)
    bad = failed(run(preflight_api(routes), gitops=True, argocd_instance=wanted))
    assert ("argocd_instance" not in bad) is ok
    if fragment:
        assert fragment in bad["argocd_instance"]["message"]


def test_tekton_without_gitops():
    bad = failed(run(preflight_api(), tekton=True))
    assert list(bad) == ["tekton_needs_gitops"]


def test_several_failures_reported_together():
    routes = healthy_routes()
    routes["/apis/storage.k8s.io/v1/storageclasses"] = {"items": []}
    routes["/api/v1/nodes"] = {"items": [{"metadata": {"name": "n", "labels": {"kubernetes.io/arch": "arm64"}}}]}
    checks = run(preflight_api(routes, allowed=False), gitops=True)
    names = [c["name"] for c in pf.problems(checks)]
    assert names == ["write_access", "default_storage_class", "architecture", "gitops_crds",
                     "argocd_instance"]
    text = pf.report(checks)
    assert text.startswith("Preflight found 5 problem(s):")
    assert text.count("  Fix: ") == 5
    for c in pf.problems(checks):
        assert "- [%s] %s" % (c["name"], c["message"]) in text


def test_other_read_errors_are_recorded():
    routes = healthy_routes()
    routes["/api/v1/nodes"] = ApiError("nodes is forbidden", 403)
    obs = pf.gather(preflight_api(routes), settings())
    assert obs["read_errors"] == ["GET /api/v1/nodes: nodes is forbidden"]
