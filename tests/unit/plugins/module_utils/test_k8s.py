"""The API helpers shared by the modules: paths, read, requests and connecting."""

import json

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError


def test_paths():
    assert k8s.group_version_path("v1") == "/api/v1"
    assert k8s.group_version_path("apps/v1") == "/apis/apps/v1"
    assert k8s.api_path("v1", "namespaces") == "/api/v1/namespaces"
    assert k8s.api_path("v1", "namespaces", name="ns") == "/api/v1/namespaces/ns"
    assert k8s.api_path("v1", "secrets", "db") == "/api/v1/namespaces/db/secrets"
    assert k8s.api_path("apps/v1", "deployments", "ns", "app") == "/apis/apps/v1/namespaces/ns/deployments/app"
    assert k8s.api_path("sonataflow.org/v1alpha08", "sonataflowclusterplatforms", name="cp") == \
        "/apis/sonataflow.org/v1alpha08/sonataflowclusterplatforms/cp"


class Routes:
    def __init__(self, routes):
        self.routes = routes
        self.calls = []

    def get(self, path, query=None):
        self.calls.append((path, query))
        answer = self.routes[path]
        if isinstance(answer, ApiError):
            raise answer
        return answer


@pytest.mark.parametrize("status,expected", [(0, True), (408, True), (429, True), (500, True), (503, True),
                                             (599, True), (400, False), (403, False), (404, False), (409, False)])
def test_is_transient(status, expected):
    assert k8s.is_transient(status) is expected


def test_timing_errors():
    assert k8s.timing_errors(0, 0.1) == []
    assert k8s.timing_errors(-1, 0) == ["timeout must not be negative", "sleep must be greater than 0"]


def test_apply_merge_patch_merges_maps_and_leaves_the_input():
    existing = {"metadata": {"name": "s", "labels": {"a": "1"}}, "data": {"k": "b2xk", "x": "eA=="}}
    out = k8s.apply_merge_patch(existing, {"metadata": {"labels": {"b": "2"}}, "data": {"k": "bmV3"}})
    assert out["metadata"] == {"name": "s", "labels": {"a": "1", "b": "2"}}
    assert out["data"] == {"k": "bmV3", "x": "eA=="}
    assert existing["data"]["k"] == "b2xk"


def test_is_ours_reads_the_managed_by_label():
    assert k8s.is_ours({"metadata": {"labels": dict(k8s.OWNERSHIP_LABELS)}})
    assert not k8s.is_ours({"metadata": {"labels": {k8s.MANAGED_BY: "someone-else"}}})
    assert not k8s.is_ours({"metadata": {}}) and not k8s.is_ours(None)


def test_read_gives_none_for_404_only():
    api = Routes({"/a": {"x": 1}, "/gone": ApiError("not found", 404), "/no": ApiError("forbidden", 403)})
    assert k8s.read(api, "/a") == {"x": 1}
    assert k8s.read(api, "/gone") is None
    with pytest.raises(ApiError) as exc:
        k8s.read(api, "/no")
    assert exc.value.status == 403
    k8s.read(api, "/a", {"labelSelector": "a=b"})
    assert api.calls[-1] == ("/a", {"labelSelector": "a=b"})


class Response:
    def __init__(self, data):
        self.data = data


class Client:
    """Records the keyword arguments of each request; fails with ``error`` when set."""

    def __init__(self, error=None):
        self.error = error
        self.requests = []

    def request(self, method, path, body=None, **params):
        self.requests.append((method, path, body, params))
        if self.error:
            raise self.error
        return Response(json.dumps({"method": method}).encode())


class ClientError(Exception):
    def __init__(self, status, message):
        super().__init__("(%d) Reason: %s" % (status, message))
        self.status = status
        self.body = json.dumps({"message": message})


def make_api(client):
    class K8sClient:
        configuration = type("Configuration", (), {"host": "https://api.example.test:6443"})

    wrapper = K8sClient()
    wrapper.client = client
    return k8s.Api(wrapper)


def test_requests_send_queries_and_content_types():
    client = Client()
    api = make_api(client)
    assert api.get("/x") == {"method": "GET"}
    api.get("/x", {"labelSelector": "a=b"})
    api.post("/y", {"b": 1})
    api.create("/z", {"c": 1}, dry_run=True)
    api.merge_patch("/z/n", {"d": 1})
    api.delete("/z/n", dry_run=True)
    assert [r[3] for r in client.requests] == [
        {"serialize": False},
        {"serialize": False, "query_params": [("labelSelector", "a=b")]},
        {"serialize": False},
        {"serialize": False, "query_params": [("fieldManager", "parodos.orchestrator"), ("dryRun", "All")],
         "content_type": "application/json"},
        {"serialize": False, "query_params": [("fieldManager", "parodos.orchestrator")],
         "content_type": "application/merge-patch+json"},
        {"serialize": False, "query_params": [("propagationPolicy", "Background"), ("dryRun", "All")]},
    ]
    assert client.requests[-1][0] == "DELETE"
    assert api.host == "https://api.example.test:6443"


@pytest.mark.parametrize("call", [lambda api: api.get("/x"), lambda api: api.merge_patch("/x", {})])
def test_client_failures_become_api_errors(call):
    api = make_api(Client(ClientError(409, 'secrets "s" already exists')))
    with pytest.raises(ApiError) as exc:
        call(api)
    assert exc.value.status == 409 and str(exc.value) == 'secrets "s" already exists'


def test_find_resource_skips_subresources():
    doc = {"resources": [{"name": "deployments/status", "kind": "Deployment", "namespaced": True},
                         {"name": "deployments", "kind": "Deployment", "namespaced": True},
                         {"name": "statefulsets", "kind": "StatefulSet", "namespaced": True}]}
    assert k8s.find_resource(doc, "Deployment")["name"] == "deployments"
    assert k8s.find_resource(doc, "Job") is None
    assert k8s.find_resource({}, "Job") is None


def test_discovery_knows_built_ins_and_caches_documents():
    doc = {"resources": [{"name": "backstages", "kind": "Backstage", "namespaced": True},
                         {"name": "clusterthings", "kind": "ClusterThing", "namespaced": False}]}
    api = Routes({"/apis/rhdh.redhat.com/v1alpha1": doc, "/apis/none/v1": ApiError("not found", 404)})
    discovery = k8s.Discovery(api)
    assert discovery.resource("v1", "Namespace") == (("namespaces", False), "")
    assert discovery.resource("rhdh.redhat.com/v1alpha1", "Backstage") == (("backstages", True), "")
    assert discovery.resource("rhdh.redhat.com/v1alpha1", "ClusterThing") == (("clusterthings", False), "")
    assert len(api.calls) == 1
    assert discovery.resource("none/v1", "X") == (None, "API none/v1 is not served")
    # an unknown kind drops the cached document: a CRD may add the kind later
    assert discovery.resource("rhdh.redhat.com/v1alpha1", "Other") == (
        None, "kind Other is not served by rhdh.redhat.com/v1alpha1")
    discovery.resource("rhdh.redhat.com/v1alpha1", "Backstage")
    assert [path for path, query in api.calls].count("/apis/rhdh.redhat.com/v1alpha1") == 2


class Module:
    def __init__(self):
        self.failed = None

    def fail_json(self, **result):
        self.failed = result
        raise SystemExit(1)


def test_connect_or_fail(monkeypatch):
    monkeypatch.setattr(k8s, "connect", lambda module: ("api", None))
    assert k8s.connect_or_fail(Module()) == "api"
    monkeypatch.setattr(k8s, "connect", lambda module: (None, ("connection refused", 0, "https://h:6443")))
    module = Module()
    with pytest.raises(SystemExit):
        k8s.connect_or_fail(module, changed=False)
    assert module.failed == {"msg": "Cannot reach the Kubernetes API at https://h:6443: connection refused",
                             "changed": False}


def test_auth_argument_spec_is_a_copy_with_the_options():
    spec = k8s.auth_argument_spec(name=dict(type="str"))
    assert spec["name"] == {"type": "str"} and "kubeconfig" in spec
    spec["kubeconfig"]["type"] = "changed"
    assert k8s.auth_argument_spec()["kubeconfig"]["type"] != "changed"
    assert "name" not in k8s.auth_argument_spec()
