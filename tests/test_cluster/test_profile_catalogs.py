"""Several CatalogSources offering the same packages: what the package server lists and answers."""

from __future__ import annotations

from tests.test_cluster.test_controllers_manager import Sim

PM_API = "packages.operators.coreos.com/v1"
OLM_API = "operators.coreos.com/v1alpha1"


def catalogs_of(items):
    return sorted((i["metadata"]["name"], i["metadata"]["labels"]["catalog"], i["status"]["catalogSource"])
                  for i in items)


def test_one_catalog_by_default():
    sim = Sim()
    items = sim.store.list(PM_API, "PackageManifest", "openshift-marketplace",
                           field_selector="metadata.name=rhdh")
    assert catalogs_of(items) == [("rhdh", "redhat-operators", "redhat-operators")]
    assert sim.get(PM_API, "PackageManifest", "rhdh", "openshift-marketplace")["metadata"]["labels"][
        "catalog"] == "redhat-operators"


def test_extra_catalogs_list_the_package_under_the_same_name():
    sim = Sim(extra_catalogs=("community-operators",))
    cs = sim.get(OLM_API, "CatalogSource", "community-operators", "openshift-marketplace")
    assert cs["status"]["connectionState"]["lastObservedState"] == "READY"
    items = sim.store.list(PM_API, "PackageManifest", "openshift-marketplace",
                           field_selector="metadata.name=rhdh")
    assert catalogs_of(items) == [("rhdh", "community-operators", "community-operators"),
                                  ("rhdh", "redhat-operators", "redhat-operators")]
    # a GET by name answers with one of them: not the one the label selects
    assert sim.get(PM_API, "PackageManifest", "rhdh", "openshift-marketplace")["status"][
        "catalogSource"] == "community-operators"
    chosen = sim.store.list(PM_API, "PackageManifest", "openshift-marketplace",
                            label_selector="catalog=redhat-operators", field_selector="metadata.name=rhdh")
    assert catalogs_of(chosen) == [("rhdh", "redhat-operators", "redhat-operators")]
    assert chosen[0]["status"]["catalogSourceNamespace"] == "openshift-marketplace"


def test_a_catalog_that_is_not_ready_offers_nothing():
    sim = Sim(extra_catalogs=("community-operators",), catalog_ready=False)
    items = sim.store.list(PM_API, "PackageManifest", "openshift-marketplace")
    assert {i["metadata"]["labels"]["catalog"] for i in items} == {"community-operators"}
    assert sim.get(PM_API, "PackageManifest", "rhdh", "openshift-marketplace")["status"][
        "catalogSource"] == "community-operators"
