"""An in-memory stand-in for the few API paths preflight reads."""

from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import (
    ApiError,
)

PACKAGES = {
    "serverless-operator": ["stable", "stable-1.33"],
    "logic-operator-rhel8": ["alpha"],
    "rhdh": ["fast", "fast-1.3"],
}
CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
PM = "/apis/packages.operators.coreos.com/v1/namespaces/openshift-marketplace/packagemanifests/"


def api_resources(group_version, names):
    """An APIResourceList with namespaced resources ``names``."""
    return {"kind": "APIResourceList", "groupVersion": group_version,
            "resources": [{"name": n, "namespaced": True} for n in names]}


def crd(name, versions=("v1",)):
    return {"metadata": {"name": name},
            "spec": {"versions": [{"name": v, "served": True} for v in versions]}}


def healthy_routes():
    """Path -> JSON body of a ready OpenShift 4.16 cluster."""
    routes = {
        "/version": {"gitVersion": "v1.29.7+abc"},
        "/apis/config.openshift.io/v1/clusterversions/version": {
            "status": {"history": [{"state": "Partial", "version": "4.17.0"},
                                   {"state": "Completed", "version": "4.16.8"}]}},
        "/apis/config.openshift.io/v1/ingresses/cluster": {"spec": {"domain": "apps.example.test"}},
        "/apis/storage.k8s.io/v1/storageclasses": {"items": [
            {"metadata": {"name": "slow"}},
            {"metadata": {"name": "gp3", "annotations": {
                "storageclass.kubernetes.io/is-default-class": "true"}}}]},
        "/api/v1/nodes": {"items": [
            {"metadata": {"name": "n1", "labels": {"kubernetes.io/arch": "amd64"}}},
            {"metadata": {"name": "n2", "labels": {"kubernetes.io/arch": "arm64"}}}]},
        "/apis/operators.coreos.com/v1alpha1/namespaces/openshift-marketplace/catalogsources/redhat-operators": {
            "status": {"connectionState": {"lastObservedState": "READY"}}},
    }
    # OLM's served group versions (discovery documents)
    routes["/apis/operators.coreos.com/v1alpha1"] = api_resources("operators.coreos.com/v1alpha1", [
        "catalogsources", "clusterserviceversions", "clusterserviceversions/status",
        "installplans", "subscriptions", "subscriptions/status"])
    routes["/apis/operators.coreos.com/v1"] = api_resources("operators.coreos.com/v1", ["olmconfigs", "operatorgroups"])
    for pkg, channels in PACKAGES.items():
        routes[PM + pkg] = {"metadata": {"name": pkg}, "status": {
            "catalogSource": "redhat-operators", "defaultChannel": channels[0],
            "channels": [{"name": c} for c in channels]}}
    return routes


def add_gitops(routes, tekton=True, instance="argocd"):
    routes[CRD + "appprojects.argoproj.io"] = crd("appprojects.argoproj.io", ("v1alpha1",))
    routes[CRD + "argocds.argoproj.io"] = crd("argocds.argoproj.io", ("v1alpha1", "v1beta1"))
    routes["/apis/argoproj.io/v1beta1/namespaces/orchestrator-gitops/argocds"] = {
        "items": [{"metadata": {"name": instance}}] if instance else []}
    if tekton:
        routes[CRD + "tasks.tekton.dev"] = crd("tasks.tekton.dev", ("v1beta1", "v1"))
        routes[CRD + "pipelines.tekton.dev"] = crd("pipelines.tekton.dev", ("v1beta1", "v1"))
    return routes


class FakeApi:
    """``get``/``post`` over a route table; records every request."""

    def __init__(self, routes=None, allowed=True, host="https://api.example.test:6443",
                 unreachable=False):
        self.routes = healthy_routes() if routes is None else routes
        self.allowed = allowed
        self.host = host
        self.unreachable = unreachable
        self.requests = []

    def get(self, path, query=None):
        self.requests.append(("GET", path))
        if self.unreachable:
            raise ApiError("connection refused", 0)
        if path not in self.routes:
            raise ApiError("%s not found" % path, 404)
        body = self.routes[path]
        if isinstance(body, ApiError):
            raise body
        return body

    def post(self, path, body):
        self.requests.append(("POST", path))
        assert path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
        return dict(body, status={"allowed": self.allowed})
