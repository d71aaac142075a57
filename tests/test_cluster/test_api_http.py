"""HTTP-level behaviour: auth, access reviews, faults, request log, watch, kubectl as an independent client."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading

import pytest
from kubernetes import config, dynamic, watch

from tests.cluster import Faults
from tests.helpers import http

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed on this machine")


def test_unauthorized_with_a_wrong_token_and_forbidden_without_one(cluster):
    status, _headers, body = http(cluster, "GET", "/api/v1/namespaces", token="wrong")
    assert status == 401
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    # without a token: the anonymous user, who may read the version and the health checks only
    status, _headers, body = http(cluster, "GET", "/api/v1/namespaces", token=None)
    assert status == 403
    assert body["reason"] == "Forbidden" and body["message"] == (
        'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" '
        "at the cluster scope")
    status, _headers, body = http(cluster, "GET", "/apis", token=None)
    assert status == 403 and body["message"] == 'forbidden: User "system:anonymous" cannot get path "/apis"'
    assert http(cluster, "GET", "/version", token=None)[0] == 200
    assert http(cluster, "GET", "/readyz", token=None)[0] == 200


def test_readonly_token_reads_but_cannot_write(cluster):
    ro = cluster.config.readonly_token
    assert http(cluster, "GET", "/api/v1/namespaces/default/configmaps", token=ro)[0] == 200
    status, _headers, body = http(cluster, "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "x"}},
                                  token=ro)
    assert status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == ('configmaps is forbidden: User "readonly" cannot create resource "configmaps" in '
                               'API group "" in the namespace "default"')
    status, _headers, body = http(cluster, "DELETE", "/apis/apps/v1/namespaces/default/deployments/d", token=ro)
    assert body["message"] == ('deployments.apps "d" is forbidden: User "readonly" cannot delete resource '
                               '"deployments" in API group "apps" in the namespace "default"')
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "create", "resource": "configmaps", "namespace": "default"}}}
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    status, _headers, out = http(cluster, "POST", path, review, token=ro)
    assert status == 201 and out["status"]["allowed"] is False
    assert http(cluster, "POST", path, review)[2]["status"]["allowed"] is True


def test_error_faults_and_request_log(cluster):
    cluster.requests.reset()
    cluster.set_faults(Faults(error_rate=1.0, error_codes=(429,), methods=("POST",)))
    status, headers, body = http(cluster, "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "f"}})
    assert status == 429 and headers["Retry-After"] == "1"
    assert body["reason"] == "TooManyRequests" and body["details"]["retryAfterSeconds"] == 1
    assert http(cluster, "GET", "/api/v1/namespaces/default/configmaps")[0] == 200  # GET not affected
    cluster.set_faults(Faults(error_rate=1.0, error_codes=(503,)))
    assert http(cluster, "GET", "/version")[0] == 503
    cluster.set_faults()
    assert http(cluster, "GET", "/version")[0] == 200
    counts = cluster.requests.counts()
    assert counts[("POST", 429)] == 1 and counts[("GET", 503)] == 1 and counts["GET"] == 3
    entry = cluster.requests.find(method="POST")[0]
    assert entry.path == "/api/v1/namespaces/default/configmaps" and entry.content_type == "application/json"


def test_dropped_connections(cluster):
    import http.client as hc
    cluster.set_faults(Faults(drop_rate=1.0))
    with pytest.raises((hc.RemoteDisconnected, ConnectionError)):
        http(cluster, "GET", "/version")
    cluster.set_faults()
    assert cluster.requests.find(path="/version", status=0)


def test_seeded_faults_repeat(cluster_factory):
    def outcome(c):
        return [http(c, "GET", "/version")[0] for dummy in range(20)]

    a = cluster_factory(faults=Faults(error_rate=0.5, seed=7))
    b = cluster_factory(faults=Faults(error_rate=0.5, seed=7))
    first = outcome(a)
    assert first == outcome(b)
    assert 200 in first and any(code != 200 for code in first)


def test_watch_stream(cluster):
    api = config.new_client_from_config(str(cluster.kubeconfig))
    cms = dynamic.DynamicClient(api).resources.get(api_version="v1", kind="ConfigMap")
    listed = cms.get(namespace="default")
    seen = []

    def consume():
        w = watch.Watch()
        for event in cms.watch(namespace="default", resource_version=listed.metadata.resourceVersion,
                               timeout=5, watcher=w):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    cluster.store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w", "namespace": "default"}},
                         manager="t")
    cluster.store.patch("v1", "ConfigMap", "w", "default", {"data": {"a": "b"}}, patch_type="merge", manager="t")
    cluster.store.delete("v1", "ConfigMap", "w", "default")
    thread.join(10)
    assert not thread.is_alive()
    assert [e for e in seen if e[1] == "w"] == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def kubectl(cluster, *args, check=True, timeout=60):
    # kubectl sends tokens only over TLS, so it talks to the https listener
    kubeconfig = cluster.tmpdir / "kubeconfig-tls"
    if not kubeconfig.exists():
        cluster.write_kubeconfig(kubeconfig, tls=True)
    proc = subprocess.run([KUBECTL, "--kubeconfig", str(kubeconfig), *args], capture_output=True, check=False,
                          text=True, timeout=timeout, env=cluster.subprocess_env(HOME=str(cluster.tmpdir)))
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@needs_kubectl
def test_kubectl_crud_and_apply(cluster, tmp_path):
    kubectl(cluster, "create", "namespace", "kc")
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: k\n  namespace: kc\ndata:\n  a: '1'\n")
    # no OpenAPI documents are served, so client-side validation is off
    kubectl(cluster, "apply", "--server-side", "--validate=false", "-f", str(manifest))
    out = json.loads(kubectl(cluster, "get", "configmap", "k", "-n", "kc", "-o", "json", "--show-managed-fields").stdout)
    assert out["data"] == {"a": "1"}
    assert out["metadata"]["managedFields"][0]["manager"] == "kubectl"
    names = kubectl(cluster, "get", "cm", "-n", "kc", "-o", "name").stdout.split()
    assert "configmap/k" in names
    proc = kubectl(cluster, "get", "cm", "missing", "-n", "kc", check=False)
    assert proc.returncode != 0 and 'configmaps "missing" not found' in proc.stderr
    kubectl(cluster, "delete", "configmap", "k", "-n", "kc")
    assert cluster.store.try_get("v1", "ConfigMap", "k", "kc") is None


@needs_kubectl
def test_kubectl_wait_and_api_resources(cluster):
    out = kubectl(cluster, "api-resources", "--api-group=apps", "-o", "name").stdout.split()
    assert "deployments.apps" in out
    cluster.store.create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "ready", "namespace": "default", "labels": {"x": "y"}}}, manager="t")
    kubectl(cluster, "wait", "--for=jsonpath={.metadata.labels.x}=y", "configmap/ready", "--timeout=20s")
    kubectl(cluster, "delete", "configmap", "ready", "--wait=false")
    kubectl(cluster, "wait", "--for=delete", "configmap/ready", "--timeout=20s")
