"""The real kubernetes.core modules against the test cluster (ansible-playbook in a subprocess)."""

from __future__ import annotations

from tests.helpers import run_playbook
from tests.test_cluster.test_api_basic import WIDGET_CRD

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "play"},
    "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}},
}

PLAY = [{
    "hosts": "localhost", "gather_facts": False,
    "tasks": [
        {"name": "crd, namespace and configmap", "kubernetes.core.k8s": {"definition": [
            WIDGET_CRD,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "play"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "play"},
             "data": {"a": "1"}}]}},
        {"name": "client-side apply", "kubernetes.core.k8s": {"apply": True, "definition": {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied", "namespace": "play"},
            "data": {"b": "2"}}}},
        {"name": "server-side apply", "kubernetes.core.k8s": {
            "apply": True, "server_side_apply": {"field_manager": "orchestrator-test"}, "definition": DEPLOYMENT}},
        {"name": "custom resource", "kubernetes.core.k8s": {"definition": {
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "play"},
            "spec": {"size": 2}}}},
        {"name": "check mode create", "check_mode": True, "when": "not second", "register": "dry",
         "kubernetes.core.k8s": {"definition": {
             "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry", "namespace": "default"}}}},
        {"name": "wait for the deployment", "kubernetes.core.k8s_info": {
            "kind": "Deployment", "name": "web", "namespace": "play", "wait": True, "wait_timeout": 60,
            "wait_sleep": 1, "wait_condition": {"type": "Available", "status": "True"}},
         "register": "dep"},
        {"ansible.builtin.assert": {"that": ["dep.resources | length == 1",
                                             "dep.resources[0].spec.replicas == 1"]}},
        {"name": "remove the namespace and wait", "when": "second", "kubernetes.core.k8s": {
            "kind": "Namespace", "name": "play", "api_version": "v1", "state": "absent", "wait": True,
            "wait_timeout": 60, "wait_sleep": 1}},
    ],
}]


def task_results(stdout: str) -> dict:
    """Task name -> ok/changed/skipping/failed, from the default callback's output."""
    out, name = {}, None
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            name = line[6:line.index("]")]
        elif name and line.split(":")[0] in ("ok", "changed", "skipping", "failed", "fatal"):
            out[name] = line.split(":")[0]
    return out


def test_kubernetes_core_modules(cluster):
    store = cluster.store
    first = run_playbook(cluster, PLAY, {"second": False})
    assert first.returncode == 0, first.stdout + first.stderr
    results = task_results(first.stdout)
    assert results["crd, namespace and configmap"] == "changed", first.stdout
    assert results["server-side apply"] == "changed" and results["check mode create"] == "changed", first.stdout
    assert store.get("v1", "ConfigMap", "applied", "play")["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"]
    dep = store.get("apps/v1", "Deployment", "web", "play")
    assert any(m["manager"] == "orchestrator-test" and m["operation"] == "Apply"
               for m in dep["metadata"]["managedFields"])
    assert store.get("example.com/v1", "Widget", "w", "play")["spec"] == {"size": 2}
    # check mode sends dryRun=All: nothing stored
    assert store.try_get("v1", "ConfigMap", "dry", "default") is None
    assert any("dryRun=All" in e.query for e in cluster.requests.find(method="POST"))
    # strategic merge patch is refused on the custom resource only on updates; first run created it

    cluster.requests.reset()
    second = run_playbook(cluster, PLAY, {"second": True})
    assert second.returncode == 0, second.stdout + second.stderr
    results = task_results(second.stdout)
    assert [n for n, r in results.items() if r == "changed"] == ["remove the namespace and wait"], second.stdout
    assert cluster.requests.find(method="PATCH", status=415)  # SMP on the CR, then merge patch
    assert store.try_get("v1", "Namespace", "play") is None
    assert store.try_get("example.com/v1", "Widget", "w", "play") is None
