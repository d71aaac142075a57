"""The fault proxy (tests/cluster/proxy.py) in front of the stand-in API server's https listener: requests go
through unchanged, faults and the request log work as in the stand-in, streams are relayed as they arrive."""

from __future__ import annotations

import base64
import http.client
import json
import os
import queue
import shutil
import ssl
import subprocess
import threading
import time

import kubernetes.client
import pytest
import yaml
from kubernetes import dynamic, watch

from tests.cluster import Faults, LocalCluster
from tests.cluster.errors import ApiError
from tests.cluster.pki import make_pki
from tests.cluster.proxy import FaultProxy
from tests.cluster.server import RequestLog, _self_signed_cert

KUBECTL = shutil.which("kubectl") or "kubectl"
CM_PATH = "/api/v1/namespaces/default/configmaps"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """The stand-in API server and the https URL of its TLS listener."""
    cluster = LocalCluster(api="python").start()
    kubeconfig = cluster.write_kubeconfig(tmp_path_factory.mktemp("upstream") / "kubeconfig", tls=True)
    url = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    yield cluster, url
    cluster.stop()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA and a serving certificate for 127.0.0.1 for the proxy."""
    return make_pki(tmp_path_factory.mktemp("proxy-pki"))


def proxy_threads(prefix: str = "fault-proxy") -> list[threading.Thread]:
    """The proxy's threads: its listener ("fault-proxy"), its connections ("fault-proxy-...")."""
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


@pytest.fixture
def proxy(upstream, pki):
    cluster, url = upstream
    cluster.requests.reset()
    # the upstream's certificate is self-signed: it is its own CA
    fp = FaultProxy(url, upstream_ca=_self_signed_cert()[0], certfile=str(pki.serving_cert),
                    keyfile=str(pki.serving_key), faults=Faults(), log=RequestLog()).start()
    yield fp
    started = time.monotonic()
    fp.stop()
    assert time.monotonic() - started < 3
    assert not proxy_threads()


def connect(proxy, pki, timeout: float = 10) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection("127.0.0.1", proxy.port, timeout=timeout,
                                       context=ssl.create_default_context(cafile=str(pki.ca_cert)))


def call(conn, method: str, path: str, body=None, token: str | None = "orchestrator-test-token", headers=None):
    """(status, headers, parsed body) of one request on ``conn``."""
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    return resp.status, resp.headers, json.loads(raw) if raw else None


def exists(cluster, name: str) -> bool:
    try:
        cluster.store.get("v1", "ConfigMap", name, "default")
    except ApiError:
        return False
    return True


def dynamic_client(proxy, pki, tmp_path, token: str = "orchestrator-test-token") -> dynamic.DynamicClient:
    cfg = kubernetes.client.Configuration()
    cfg.host = proxy.url
    cfg.ssl_ca_cert = str(pki.ca_cert)
    cfg.api_key = {"authorization": f"Bearer {token}"}
    return dynamic.DynamicClient(kubernetes.client.ApiClient(cfg), cache_file=str(tmp_path / "discovery.json"))


def test_round_trip_with_the_python_client(proxy, pki, upstream, tmp_path):
    cluster, _url = upstream
    cms = dynamic_client(proxy, pki, tmp_path).resources.get(api_version="v1", kind="ConfigMap")
    cluster.requests.reset()
    proxy.log.reset()
    created = cms.create(body={"metadata": {"name": "p-round"}, "data": {"a": "1"}}, namespace="default")
    assert created.metadata.name == "p-round"
    assert cms.get(name="p-round", namespace="default").data.a == "1"
    patched = cms.patch(name="p-round", namespace="default", body={"data": {"b": "2"}},
                        content_type="application/merge-patch+json")
    assert dict(patched.data) == {"a": "1", "b": "2"}
    cms.delete(name="p-round", namespace="default")
    assert not exists(cluster, "p-round")

    entries = [(e.method, e.path, e.status) for e in proxy.log]
    assert entries == [("POST", CM_PATH, 201), ("GET", CM_PATH + "/p-round", 200),
                       ("PATCH", CM_PATH + "/p-round", 200), ("DELETE", CM_PATH + "/p-round", 200)]
    # the upstream saw the same requests, with the client's content types and user agent
    assert [(e.method, e.path, e.query, e.content_type, e.status, e.user_agent) for e in cluster.requests] == \
        [(e.method, e.path, e.query, e.content_type, e.status, e.user_agent) for e in proxy.log]
    assert proxy.log.find(method="PATCH")[0].content_type == "application/merge-patch+json"
    assert proxy.log.entries[0].user_agent.startswith("OpenAPI-Generator/")


def test_requests_pass_unchanged(proxy, pki, upstream):
    cluster, _url = upstream
    conn = connect(proxy, pki)
    query = "labelSelector=app%3Dx%2Cteam%21%3Dy&limit=5"
    status, headers, body = call(conn, "GET", f"{CM_PATH}?{query}", headers={"User-Agent": "proxy-test/1"})
    assert status == 200 and body["kind"] == "ConfigMapList"
    assert headers["Content-Type"] == "application/json"
    assert cluster.requests.entries[-1] == proxy.log.entries[-1]
    assert proxy.log.entries[-1].query == query and proxy.log.entries[-1].user_agent == "proxy-test/1"
    # the Authorization header is forwarded: a wrong token is refused by the upstream
    status, _headers, body = call(conn, "GET", CM_PATH, token="wrong")
    assert status == 401 and body["reason"] == "Unauthorized"
    # same client connection, an upstream connection that the upstream closed meanwhile
    for upstream_conn in list(proxy._upstreams):
        upstream_conn.sock.shutdown(2)
    assert call(conn, "GET", "/version", token=None)[0] == 200
    assert [e.status for e in proxy.log] == [200, 401, 200]
    conn.close()


def test_error_faults_never_reach_the_upstream(proxy, pki, upstream):
    cluster, _url = upstream
    conn = connect(proxy, pki)
    for code, reason in ((429, "TooManyRequests"), (503, "ServiceUnavailable"), (500, "InternalError")):
        proxy.set_faults(Faults(error_rate=1.0, error_codes=(code,)))
        status, headers, body = call(conn, "POST", CM_PATH, {"metadata": {"name": f"p-{code}"}})
        assert status == code and body["code"] == code and body["reason"] == reason
        assert body["kind"] == "Status" and body["status"] == "Failure"
        if code in (429, 503):
            assert headers["Retry-After"] == "1" and body["details"]["retryAfterSeconds"] == 1
        else:
            assert "Retry-After" not in headers
    assert not cluster.requests.entries
    assert [(e.method, e.status) for e in proxy.log] == [("POST", 429), ("POST", 503), ("POST", 500)]
    assert not exists(cluster, "p-429")
    conn.close()


def test_dropped_connections(proxy, pki, upstream):
    cluster, _url = upstream
    proxy.set_faults(Faults(drop_rate=1.0))
    for dummy in range(2):
        conn = connect(proxy, pki)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
            call(conn, "GET", "/version")
        conn.close()
    assert [(e.method, e.path, e.status) for e in proxy.log] == [("GET", "/version", 0)] * 2
    assert not cluster.requests.entries
    proxy.set_faults(Faults())
    assert call(connect(proxy, pki), "GET", "/version")[0] == 200


def test_methods_filter_and_latency(proxy, pki, upstream):
    cluster, _url = upstream
    conn = connect(proxy, pki)
    proxy.set_faults(Faults(error_rate=1.0, error_codes=(503,), latency=0.3, methods=("POST",)))
    started = time.monotonic()
    assert call(conn, "GET", CM_PATH)[0] == 200
    assert time.monotonic() - started < 0.3  # neither fault nor latency for GET
    started = time.monotonic()
    assert call(conn, "POST", CM_PATH, {"metadata": {"name": "p-filter"}})[0] == 503
    assert time.monotonic() - started >= 0.3
    assert [(e.method, e.status) for e in cluster.requests] == [("GET", 200)]
    assert [(e.method, e.status) for e in proxy.log] == [("GET", 200), ("POST", 503)]
    conn.close()


def test_seeded_faults_repeat(proxy, pki):
    conn = connect(proxy, pki)

    def outcome():
        proxy.set_faults(Faults(error_rate=0.5, error_codes=(500, 503), seed=5))
        return [call(conn, "GET", "/version")[0] for dummy in range(12)]

    first = outcome()
    assert first == outcome()
    assert 200 in first and {500, 503} & set(first)
    conn.close()


def test_watch_events_are_relayed_while_the_watch_is_open(proxy, pki, upstream, tmp_path):
    cluster, _url = upstream
    cms = dynamic_client(proxy, pki, tmp_path).resources.get(api_version="v1", kind="ConfigMap")
    rv = cms.get(namespace="default").metadata.resourceVersion
    events: queue.Queue = queue.Queue()

    def consume():
        w = watch.Watch()
        for event in cms.watch(namespace="default", resource_version=rv, timeout=10, watcher=w):
            events.put((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p-watch", "namespace": "default"}}
    cluster.store.create(cm, manager="t")
    assert events.get(timeout=5) == ("ADDED", "p-watch")
    assert thread.is_alive()  # the event came through while the watch was open
    cluster.store.patch("v1", "ConfigMap", "p-watch", "default", {"data": {"a": "b"}}, patch_type="merge",
                        manager="t")
    assert events.get(timeout=5) == ("MODIFIED", "p-watch")
    assert thread.is_alive()
    cluster.store.delete("v1", "ConfigMap", "p-watch", "default")
    assert events.get(timeout=5) == ("DELETED", "p-watch")
    thread.join(5)
    assert not thread.is_alive()
    watches = [e for e in proxy.log if "watch=" in e.query]
    assert [(e.method, e.path, e.status) for e in watches] == [("GET", CM_PATH, 200)]


def test_client_leaving_a_stream_and_stop_during_a_stream(proxy, pki, upstream):
    cluster, _url = upstream

    def open_watch():
        conn = connect(proxy, pki)
        conn.request("GET", f"{CM_PATH}?watch=1&timeoutSeconds=60",
                     headers={"Authorization": "Bearer orchestrator-test-token"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.chunked
        return conn, resp

    conn, resp = open_watch()
    name = f"p-leave-{time.monotonic_ns()}"
    cluster.store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}},
                         manager="t")
    seen = []
    while name not in seen:
        seen.append(json.loads(resp.readline())["object"]["metadata"]["name"])
    conn.close()  # mid-stream
    deadline = time.monotonic() + 3
    while proxy_threads("fault-proxy-") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not proxy_threads("fault-proxy-")  # the connection's thread ended with the client
    assert call(connect(proxy, pki), "GET", "/version")[0] == 200

    conn, resp = open_watch()
    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started < 2
    assert not proxy_threads()
    with pytest.raises((http.client.IncompleteRead, OSError)):  # broken off, not ended
        resp.read()
    conn.close()


def kubeconfig(proxy, pki, path, token: str = "orchestrator-test-token"):
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "proxy", "cluster": {
               "server": proxy.url, "certificate-authority-data": base64.b64encode(pki.ca_pem()).decode()}}],
           "users": [{"name": "u", "user": {"token": token}}],
           "contexts": [{"name": "c", "context": {"cluster": "proxy", "user": "u", "namespace": "default"}}],
           "current-context": "c"}
    path.write_text(yaml.safe_dump(doc))
    return path


def kubectl_env(tmp_path) -> dict:
    return {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def run_kubectl(config, tmp_path, *args, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run([KUBECTL, "--kubeconfig", str(config), *args], capture_output=True, text=True,
                          timeout=timeout, check=False, env=kubectl_env(tmp_path))


def test_kubectl_through_the_proxy(proxy, pki, upstream, tmp_path):
    cluster, _url = upstream
    config = kubeconfig(proxy, pki, tmp_path / "kubeconfig")
    proc = run_kubectl(config, tmp_path, "get", "namespaces", "-o", "name")
    assert proc.returncode == 0, proc.stderr
    assert "namespace/default" in proc.stdout.split()
    entry = proxy.log.find(method="GET", path="/api/v1/namespaces")[-1]
    assert entry.status == 200 and entry.user_agent.startswith("kubectl")

    # kubectl get -w: each change is printed as it happens
    getter = subprocess.Popen([KUBECTL, "--kubeconfig", str(config), "get", "configmaps", "-w", "-o", "name"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=kubectl_env(tmp_path))
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line.strip()) for line in getter.stdout], daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 10
        while not [e for e in proxy.log if "watch=" in e.query] and time.monotonic() < deadline:
            time.sleep(0.05)
        cluster.store.create({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "p-get-w", "namespace": "default"}}, manager="t")
        printed = []
        while "configmap/p-get-w" not in printed:
            printed.append(lines.get(timeout=5))
        assert getter.poll() is None  # printed while still watching
    finally:
        getter.kill()
        getter.wait()
    proxy.log.reset()

    # kubectl wait: watches until the condition holds
    cluster.store.create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "p-wait", "namespace": "default"}}, manager="t")
    waiter = subprocess.Popen([KUBECTL, "--kubeconfig", str(config), "wait", "configmap/p-wait",
                               "--for=jsonpath={.data.ready}=yes", "--timeout=15s"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=kubectl_env(tmp_path))
    try:
        deadline = time.monotonic() + 10
        while not [e for e in proxy.log if "watch=" in e.query] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiter.poll() is None  # still waiting, on a watch
        cluster.store.patch("v1", "ConfigMap", "p-wait", "default", {"data": {"ready": "yes"}}, patch_type="merge",
                            manager="t")
        out, err = waiter.communicate(timeout=10)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, err
    assert "condition met" in out

    # a wrong token is refused by the upstream, through the proxy
    proc = run_kubectl(kubeconfig(proxy, pki, tmp_path / "bad", token="wrong"), tmp_path, "get", "namespaces")
    assert proc.returncode != 0 and "Unauthorized" in proc.stderr
