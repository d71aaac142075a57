"""The API helpers shared by the modules: paths, read, requests and connecting."""

import json

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s, waiter
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from tests.unit.fakes import Clock, FakeApi


def test_paths():
    assert k8s.group_version_path("v1") == "/api/v1"
    assert k8s.group_version_path("apps/v1") == "/apis/apps/v1"
    assert k8s.api_path("v1", "namespaces") == "/api/v1/namespaces"
    assert k8s.api_path("v1", "namespaces", name="ns") == "/api/v1/namespaces/ns"
    assert k8s.api_path("v1", "secrets", "db") == "/api/v1/namespaces/db/secrets"
    assert k8s.api_path("apps/v1", "deployments", "ns", "app") == "/apis/apps/v1/namespaces/ns/deployments/app"
    assert k8s.api_path("sonataflow.org/v1alpha08", "sonataflowclusterplatforms", name="cp") == \
        "/apis/sonataflow.org/v1alpha08/sonataflowclusterplatforms/cp"


@pytest.mark.parametrize("status,expected", [(0, True), (408, True), (429, True), (500, True), (503, True),
                                             (502, True), (504, True), (501, False), (599, False), (400, False), (403, False), (404, False), (409, False)])
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
    api = FakeApi({"/a": {"x": 1}})  # nothing at /gone: a 404
    api.fail(ApiError("forbidden", 403), path="/no")
    assert k8s.read(api, "/a") == {"x": 1}
    assert k8s.read(api, "/gone") is None
    with pytest.raises(ApiError) as exc:
        k8s.read(api, "/no")
    assert exc.value.status == 403
    k8s.read(api, "/a", {"labelSelector": "a=b"})
    assert api.calls("path", "query")[-1] == ("/a", {"labelSelector": "a=b"})


class Urllib3Response:
    """What urllib3 answers: status, reason, headers and the raw body."""

    def __init__(self, status, data, headers=None):
        self.status = status
        self.reason = "OK" if status < 400 else "Error"
        self.data = data
        self.headers = headers or {}


class RestClient:
    """The ApiClient's transport: records each request; answers the next of ``answers`` first, when given.

    An answer is an exception (raised, as urllib3 raises a dropped connection) or (status, body, headers).
    """

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []

    def request(self, method, url, headers=None, body=None, post_params=None, _request_timeout=None):
        from kubernetes.client.rest import RESTResponse

        self.requests.append((method, url, body, headers or {}))
        if not self.answers:
            return RESTResponse(Urllib3Response(200, json.dumps({"method": method}).encode()))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, data, headers = answer
        return RESTResponse(Urllib3Response(status, data.encode(), headers))


def Client(*answers):
    """The real kubernetes ApiClient over a RestClient that answers ``answers`` (ClientError: its answer)."""
    import kubernetes

    configuration = kubernetes.client.Configuration()
    configuration.host = "https://api.example.test:6443"
    client = kubernetes.client.ApiClient(configuration)
    client.rest_client = RestClient([a.answer if isinstance(a, ClientError) else a for a in answers])
    client.requests = client.rest_client.requests
    return client


def query_of(url):
    from urllib.parse import parse_qsl, urlsplit

    return parse_qsl(urlsplit(url).query)


class ClientError:
    """A failure as the server sends it: a Status body, and Retry-After when given."""

    def __init__(self, status, message, reason="Conflict", retry_after=None, body=None):
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = body if body is not None else json.dumps({"kind": "Status", "message": message, "reason": reason})
        self.answer = (status, body, headers)


def make_api(client, timeout=30, sleeps=None):
    sleeps = sleeps or Clock()
    return k8s.Api(client, waiter.Deadline(timeout, sleeps, sleeps.sleep))


def test_requests_send_queries_and_content_types():
    client = Client()
    api = make_api(client)
    assert api.get("/x") == {"method": "GET"}
    api.get("/x", {"labelSelector": "a=b"})
    api.post("/y", {"b": 1})
    api.create("/z", {"c": 1}, dry_run=True)
    api.merge_patch("/z/n", {"d": 1})
    api.delete("/z/n", dry_run=True)
    assert [(r[0], query_of(r[1]), r[3].get("Content-Type")) for r in client.requests] == [
        ("GET", [], "application/json"),
        ("GET", [("labelSelector", "a=b")], "application/json"),
        ("POST", [], "application/json"),
        ("POST", [("fieldManager", "parodos.orchestrator"), ("dryRun", "All")], "application/json"),
        ("PATCH", [("fieldManager", "parodos.orchestrator")], "application/merge-patch+json"),
        ("DELETE", [("propagationPolicy", "Background"), ("dryRun", "All")], "application/json"),
    ]
    assert api.host == "https://api.example.test:6443"
    assert api.requests == 6


@pytest.mark.parametrize("call", [lambda api: api.get("/x"), lambda api: api.merge_patch("/x", {})])
def test_client_failures_become_api_errors(call):
    api = make_api(Client(ClientError(409, 'secrets "s" already exists', "AlreadyExists")))
    with pytest.raises(ApiError) as exc:
        call(api)
    assert exc.value.status == 409 and str(exc.value) == 'secrets "s" already exists'
    assert exc.value.reason == "AlreadyExists" and not exc.value.not_served


class Dropped(Exception):
    """What urllib3 raises for a connection closed without an answer (no status)."""


def test_transient_failures_are_retried_with_backoff_and_retry_after():
    sleeps = Clock()
    client = Client(ClientError(429, "too many requests", "TooManyRequests", retry_after=3),
                    ClientError(503, "unavailable", "ServiceUnavailable"), Dropped("connection reset"),
                    ClientError(500, "boom", "InternalError"))
    api = make_api(client, sleeps=sleeps)
    assert api.get("/x") == {"method": "GET"}
    assert len(client.requests) == 5
    # Retry-After first, then doubling backoff
    assert sleeps.slept == [3.0, 0.5, 1.0, 2.0]


def test_a_final_failure_is_not_retried():
    client = Client(ClientError(422, 'ConfigMap "x" is invalid', "Invalid"), ClientError(500, "never", "x"))
    with pytest.raises(ApiError) as exc:
        make_api(client).create("/x", {})
    assert exc.value.status == 422 and len(client.requests) == 1


def test_transient_failures_stop_at_the_deadline():
    sleeps = Clock()
    client = Client(*[ClientError(503, "down", "ServiceUnavailable") for dummy in range(100)])
    with pytest.raises(ApiError) as exc:
        make_api(client, timeout=10, sleeps=sleeps).get("/x")
    assert exc.value.status == 503
    assert sleeps.now == 10 and 4 < len(client.requests) < 12


def test_a_plain_404_means_not_served():
    error = ClientError(404, "", body="404 page not found")
    with pytest.raises(ApiError) as exc:
        make_api(Client(error)).get("/apis/x/v1/things/a")
    assert exc.value.not_served and str(exc.value) == "404 page not found"


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
    api = FakeApi({"/apis/rhdh.redhat.com/v1alpha1": doc})  # /apis/none/v1 not served
    discovery = k8s.Discovery(api)
    assert discovery.resource("v1", "Namespace") == (("namespaces", False), "")
    assert discovery.resource("rhdh.redhat.com/v1alpha1", "Backstage") == (("backstages", True), "")
    assert discovery.resource("rhdh.redhat.com/v1alpha1", "ClusterThing") == (("clusterthings", False), "")
    assert len(api.requests) == 1
    assert discovery.resource("none/v1", "X") == (None, "API none/v1 is not served")
    # an unknown kind drops the cached document: a CRD may add the kind later
    assert discovery.resource("rhdh.redhat.com/v1alpha1", "Other") == (
        None, "kind Other is not served by rhdh.redhat.com/v1alpha1")
    discovery.resource("rhdh.redhat.com/v1alpha1", "Backstage")
    assert api.paths().count("/apis/rhdh.redhat.com/v1alpha1") == 2


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
