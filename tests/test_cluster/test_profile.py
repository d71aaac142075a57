"""What a fresh test cluster holds, per profile option; checked through the Store and over HTTP."""

from __future__ import annotations

import base64
import time

import pytest
from kubernetes import config as kube_config
from kubernetes import dynamic
from kubernetes.client import api_client
from kubernetes.dynamic.exceptions import MethodNotAllowedError, NotFoundError, ResourceNotFoundError

from tests.cluster.config import Delays
from tests.cluster.crds import KNOWN_CRDS, crd_catalog, minimal_crd
from tests.test_cluster.test_controllers_manager import Sim

CRD_API = "apiextensions.k8s.io/v1"


def client_for(cluster) -> dynamic.DynamicClient:
    path = cluster.tmpdir / "kubeconfig-profile"
    cluster.write_kubeconfig(path)
    return dynamic.DynamicClient(api_client.ApiClient(configuration=kube_config.new_client_from_config(
        str(path)).configuration))


def eventually(check, timeout: float = 20.0, interval: float = 0.05):
    """Poll ``check`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


# ------------------------------------------------------------------------------------------ crds.py
def test_crd_catalog_has_real_and_minimal_definitions(tmp_path):
    real = crd_catalog("/work/shared/crds")
    assert set(KNOWN_CRDS) <= set(real)
    assert real["argocds.argoproj.io"]["spec"]["versions"][-1]["name"] == "v1beta1"
    assert "properties" in real["backstages.rhdh.redhat.com"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert crd_catalog("/work/shared/crds") is not real  # a fresh dict over the shared objects
    assert crd_catalog("/work/shared/crds")["subscriptions.operators.coreos.com"] is \
        real["subscriptions.operators.coreos.com"]
    empty = crd_catalog(tmp_path)
    assert empty["sonataflowplatforms.sonataflow.org"] == minimal_crd("sonataflowplatforms.sonataflow.org")
    assert crd_catalog(None)["routes.route.openshift.io"]["spec"]["scope"] == "Namespaced"


# ------------------------------------------------------------------------------- seeding (Store)
def test_openshift_profile_objects():
    sim = Sim()
    names = {n["metadata"]["name"] for n in sim.store.list("v1", "Namespace")}
    assert {"default", "kube-system", "openshift-marketplace", "openshift-operators", "openshift-config"} <= names
    cv = sim.get("config.openshift.io/v1", "ClusterVersion", "version")
    assert cv["status"]["desired"]["version"] == "4.16.8"
    assert cv["status"]["history"][0] == {**cv["status"]["history"][0], "state": "Completed",
                                          "version": "4.16.8"}
    assert sim.get("config.openshift.io/v1", "Ingress", "cluster")["spec"]["domain"] == "apps.orchestrator.test"
    sc = sim.get("storage.k8s.io/v1", "StorageClass", "standard")
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    (node,) = sim.store.list("v1", "Node")
    assert node["metadata"]["labels"]["kubernetes.io/arch"] == "amd64"
    assert node["status"]["nodeInfo"]["architecture"] == "amd64"
    cs = sim.get("operators.coreos.com/v1alpha1", "CatalogSource", "redhat-operators", "openshift-marketplace")
    assert cs["status"]["connectionState"]["lastObservedState"] == "READY"
    for crd in ("subscriptions.operators.coreos.com", "routes.route.openshift.io",
                "clusterversions.config.openshift.io"):
        assert sim.get(CRD_API, "CustomResourceDefinition", crd) is not None
    assert sim.get(CRD_API, "CustomResourceDefinition", "argocds.argoproj.io") is None


def test_profile_options():
    sim = Sim(openshift_version="4.12.30", node_architectures=("arm64",), default_storage_class=False,
              catalog_ready=False)
    assert sim.get("config.openshift.io/v1", "ClusterVersion", "version")["status"]["history"][0]["version"] == \
        "4.12.30"
    (node,) = sim.store.list("v1", "Node")
    assert node["status"]["nodeInfo"]["architecture"] == "arm64"
    assert "annotations" not in sim.get("storage.k8s.io/v1", "StorageClass", "standard")["metadata"]
    cs = sim.get("operators.coreos.com/v1alpha1", "CatalogSource", "redhat-operators", "openshift-marketplace")
    assert cs["status"]["connectionState"]["lastObservedState"] == "TRANSIENT_FAILURE"
    assert sim.store.list("packages.operators.coreos.com/v1", "PackageManifest", "default") == []
    multi = Sim(node_architectures=("amd64", "arm64"))
    assert sorted(n["status"]["nodeInfo"]["architecture"] for n in multi.store.list("v1", "Node")) == \
        ["amd64", "arm64"]


def test_kubernetes_profile_has_no_openshift_apis():
    sim = Sim(profile="kubernetes", olm=False)
    kinds = {(rt.group, rt.kind) for rt in sim.store.resource_types()}
    assert ("config.openshift.io", "ClusterVersion") not in kinds
    assert ("route.openshift.io", "Route") not in kinds
    assert ("operators.coreos.com", "Subscription") not in kinds
    assert ("packages.operators.coreos.com", "PackageManifest") not in kinds
    names = {n["metadata"]["name"] for n in sim.store.list("v1", "Namespace")}
    assert "openshift-marketplace" not in names
    with_olm = Sim(profile="kubernetes")
    assert with_olm.get("operators.coreos.com/v1alpha1", "CatalogSource", "redhat-operators", "olm") is not None
    assert with_olm.get(CRD_API, "CustomResourceDefinition", "clusterversions.config.openshift.io") is None


def test_gitops_pieces_on_kubernetes_profile():
    sim = Sim(profile="kubernetes", olm=False, gitops=True)
    for crd in ("appprojects.argoproj.io", "argocds.argoproj.io", "tasks.tekton.dev", "pipelines.tekton.dev"):
        assert sim.get(CRD_API, "CustomResourceDefinition", crd) is not None
    assert sim.get("argoproj.io/v1beta1", "ArgoCD", "argocd", "orchestrator-gitops") is not None
    secret = sim.get("v1", "Secret", "argocd-cluster", "orchestrator-gitops")
    assert base64.b64decode(secret["data"]["admin.password"])


def test_gitops_pieces_on_openshift():
    sim = Sim(gitops=True, argocd_namespace="gitops", argocd_instance="main")
    routes = sim.store.list("route.openshift.io/v1", "Route", "gitops",
                            label_selector="app.kubernetes.io/managed-by=main")
    assert [r["metadata"]["name"] for r in routes] == ["main-server"]
    assert routes[0]["spec"]["host"] == "main-server-gitops.apps.orchestrator.test"
    assert "admin.password" in sim.get("v1", "Secret", "main-cluster", "gitops")["data"]


# ------------------------------------------------------------------------------------- over HTTP
def test_package_manifests_over_http(cluster):
    client = client_for(cluster)
    pms = client.resources.get(api_version="packages.operators.coreos.com/v1", kind="PackageManifest")
    listed = pms.get(namespace="orchestrator").to_dict()
    names = [i["metadata"]["name"] for i in listed["items"]]
    assert {"serverless-operator", "logic-operator-rhel8", "rhdh"} <= set(names)
    assert all(i["metadata"]["namespace"] == "orchestrator" for i in listed["items"])
    rhdh = pms.get(name="rhdh", namespace="openshift-marketplace").to_dict()
    assert rhdh["status"]["defaultChannel"] == "fast"
    with pytest.raises(NotFoundError):
        pms.get(name="nope", namespace="default")
    with pytest.raises(MethodNotAllowedError):
        pms.create(body={"apiVersion": "packages.operators.coreos.com/v1", "kind": "PackageManifest",
                         "metadata": {"name": "x", "namespace": "default"}}, namespace="default")


def test_kubernetes_profile_over_http(cluster_factory):
    cluster = cluster_factory(profile="kubernetes", olm=False)
    client = client_for(cluster)
    with pytest.raises(ResourceNotFoundError):
        client.resources.get(api_version="config.openshift.io/v1", kind="ClusterVersion")
    nodes = client.resources.get(api_version="v1", kind="Node").get().to_dict()
    assert nodes["items"][0]["status"]["nodeInfo"]["architecture"] == "amd64"


def test_operator_install_through_the_api(cluster_factory):
    cluster = cluster_factory(delays=Delays(olm_install=0.3))
    client = client_for(cluster)
    ns_api = client.resources.get(api_version="v1", kind="Namespace")
    ns_api.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "openshift-serverless"}})
    client.resources.get(api_version="operators.coreos.com/v1", kind="OperatorGroup").create(
        namespace="openshift-serverless",
        body={"apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup",
              "metadata": {"name": "serverless-operator-group"}, "spec": {}})
    subs = client.resources.get(api_version="operators.coreos.com/v1alpha1", kind="Subscription")
    subs.create(namespace="openshift-serverless", body={
        "apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
        "metadata": {"name": "serverless-operator"},
        "spec": {"name": "serverless-operator", "channel": "stable", "source": "redhat-operators",
                 "sourceNamespace": "openshift-marketplace", "installPlanApproval": "Automatic"}})
    csvs = client.resources.get(api_version="operators.coreos.com/v1alpha1", kind="ClusterServiceVersion")

    def installed():
        sub = subs.get(name="serverless-operator", namespace="openshift-serverless").to_dict()
        name = (sub.get("status") or {}).get("installedCSV")
        if not name:
            return None
        csv = csvs.get(name=name, namespace="openshift-serverless").to_dict()
        return csv if csv["status"].get("phase") == "Succeeded" else None

    csv = eventually(installed)
    assert csv["metadata"]["name"] == "serverless-operator.v1.34.1"
    dep = client.resources.get(api_version="apps/v1", kind="Deployment").get(
        name="knative-openshift", namespace="openshift-serverless").to_dict()
    assert dep["status"]["availableReplicas"] == dep["spec"]["replicas"] == 1
    ks = eventually(lambda: _find(client, "operator.knative.dev/v1beta1", "KnativeServing"))
    assert ks.namespaced


def _find(client, api_version, kind):
    client.resources.invalidate_cache()
    try:
        return client.resources.get(api_version=api_version, kind=kind)
    except ResourceNotFoundError:
        return None
