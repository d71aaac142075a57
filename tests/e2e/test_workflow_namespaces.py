"""Additional workflow namespaces against the local test cluster, after a real install with playbooks/site.yml.

Two extra namespaces (one created, one that existed before) get the label, the
platform's network policies and a copy of the PostgreSQL Secret; a SonataFlow
built from the reported persistence block reaches Ready in each, while one in a
third namespace that got none of it stays not ready. Then: no change on a second
run and in check mode, the copy follows its source, and cleanup of one namespace
takes back only what was added there.
"""

from __future__ import annotations

import base64
import json
import time

from tests.helpers import REPO_ROOT, play_recap, run_module, run_playbook, writes

SITE = REPO_ROOT / "playbooks" / "site.yml"
NAMESPACES = REPO_ROOT / "playbooks" / "workflow_namespaces.yml"
CLEANUP = REPO_ROOT / "playbooks" / "cleanup.yml"
FAST = {"__serverless_poll_delay": 0.2, "__serverless_logic_poll_delay": 0.2, "__postgresql_poll_delay": 1,
        "__rhdh_poll_delay": 0.2, "__cleanup_poll_delay": 0.2}
SF_API = "sonataflow.org/v1alpha08"
NP_API = "networking.k8s.io/v1"
PLATFORM = "sonataflow-infra"
SECRET = "sonataflow-psql-postgresql"
WORKFLOW_LABEL = "rhdh.redhat.com/workflow-namespace"
POLICIES = ["allow-intra-namespace", "allow-rhdh-to-sonataflow-and-workflows"]
EXTRA = ["team-a", {"name": "team-b", "schema": "team_b"}]
FLOW = {"start": "hello", "states": [{"name": "hello", "type": "inject", "data": {"greeting": "hi"}, "end": True}]}


def run(cluster, playbook, extra=None, check=False):
    proc = run_playbook(cluster, playbook, {**FAST, **(extra or {})}, check=check, timeout=500)
    return proc.returncode, proc.stdout + proc.stderr, play_recap(proc.stdout)


def reported(output):
    """The last value of orchestrator_workflow_namespaces that the run printed."""
    marker = '"orchestrator_workflow_namespaces": '
    return json.JSONDecoder().raw_decode(output[output.rindex(marker) + len(marker):])[0]


def labels(store, name):
    return store.get("v1", "Namespace", name)["metadata"].get("labels") or {}


def policy_names(store, ns):
    return sorted(p["metadata"]["name"] for p in store.list(NP_API, "NetworkPolicy", ns))


def add_workflow(store, ns, persistence):
    store.create({"apiVersion": SF_API, "kind": "SonataFlow", "metadata": {"name": "greeting", "namespace": ns},
                  "spec": {"flow": FLOW, "persistence": {"postgresql": persistence}}}, manager="e2e")


def ready(store, ns):
    obj = store.try_get(SF_API, "SonataFlow", "greeting", ns) or {}
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), {})


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def decoded(secret):
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def versions_in(store, namespace):
    """resourceVersion of the namespace and of every object in it; Events, which the cluster's own
    controllers keep writing, left out."""
    return {(rt.kind, meta["name"]): meta["resourceVersion"] for rt, meta in store.metadata_index()
            if rt.kind != "Event" and (meta.get("namespace") == namespace
                                       or (rt.kind == "Namespace" and meta["name"] == namespace))}


def test_extra_workflow_namespaces_install_idempotence_and_cleanup(cluster):
    store = cluster.store
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b", "labels": {"team": "b"}}},
                 manager="seed")
    rc, out, recap = run(cluster, SITE, {"orchestrator_extra_workflow_namespaces": EXTRA})
    assert rc == 0, out[-6000:]

    # Each namespace: the label, the platform's policies (admitting the platform's namespace too), the copy.
    assert labels(store, "team-a")["app.kubernetes.io/managed-by"] == "parodos.orchestrator"
    assert labels(store, "team-b") == {"team": "b", "kubernetes.io/metadata.name": "team-b", WORKFLOW_LABEL: ""}
    platform_policy = store.get(NP_API, "NetworkPolicy", POLICIES[1], PLATFORM)["spec"]
    for ns in ("team-a", "team-b"):
        assert labels(store, ns)[WORKFLOW_LABEL] == ""
        assert policy_names(store, ns) == POLICIES
        peers = store.get(NP_API, "NetworkPolicy", POLICIES[1], ns)["spec"]["ingress"][0]["from"]
        names = [p["namespaceSelector"]["matchLabels"].get("kubernetes.io/metadata.name") for p in peers]
        assert names == ["rhdh-operator", None, "knative-eventing", "knative-serving", "openshift-serverless-logic",
                         PLATFORM]
        platform_peers = platform_policy["ingress"][0]["from"]
        assert peers[:len(platform_peers)] == platform_peers
        copy = store.get("v1", "Secret", SECRET, ns)
        assert decoded(copy) == decoded(store.get("v1", "Secret", SECRET, PLATFORM))
        assert copy["metadata"]["annotations"]["parodos.orchestrator/copied-from"] == f"{PLATFORM}/{SECRET}"
    assert "postgres-password" in decoded(store.get("v1", "Secret", SECRET, "team-a"))
    password = decoded(store.get("v1", "Secret", SECRET, PLATFORM))["postgres-password"]
    assert password not in out

    # The reported blocks, and SonataFlows built from them.
    blocks = reported(out)
    expected = {"secretRef": {"name": SECRET, "userKey": "postgres-username", "passwordKey": "postgres-password"},
                "serviceRef": {"name": SECRET, "namespace": PLATFORM, "port": 5432, "databaseName": "sonataflow",
                               "databaseSchema": "team-a"}}
    assert blocks["team-a"] == expected
    assert blocks["team-b"]["serviceRef"]["databaseSchema"] == "team_b"
    assert set(blocks) == {PLATFORM, "team-a", "team-b"}
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-c"}}, manager="e2e")
    for ns in ("team-a", "team-b"):
        add_workflow(store, ns, blocks[ns])
    add_workflow(store, "team-c", {**expected, "serviceRef": {**expected["serviceRef"], "databaseSchema": "team-c"}})
    assert wait_for(lambda: all(ready(store, ns).get("status") == "True" for ns in ("team-a", "team-b"))), \
        [ready(store, ns) for ns in ("team-a", "team-b")]
    assert store.get("apps/v1", "Deployment", "greeting", "team-a")
    assert ready(store, "team-c")["status"] == "False"
    assert ready(store, "team-c")["reason"] == "SecretNotFound"
    assert store.try_get("apps/v1", "Deployment", "greeting", "team-c") is None
    # with the Secret there, the database still does not admit team-c (no workflow label)
    store.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET, "namespace": "team-c"},
                  "data": store.get("v1", "Secret", SECRET, PLATFORM)["data"]}, manager="e2e")
    assert wait_for(lambda: ready(store, "team-c").get("reason") == "DatabaseNotReachable"), ready(store, "team-c")

    # A second run, and check mode: nothing to change, nothing written.
    for check in (False, True):
        start = len(cluster.requests.entries)
        rc, out, recap = run(cluster, SITE, {"orchestrator_extra_workflow_namespaces": EXTRA}, check=check)
        assert rc == 0, out[-6000:]
        assert recap["changed"] == 0, out[-6000:]
        assert writes(cluster, since=start) == []
        assert reported(out) == blocks

    # The source Secret changes: the copies follow (through the playbook of the namespaces).
    store.patch("v1", "Secret", SECRET, PLATFORM, {"data": {"postgres-password": base64.b64encode(b"n3w").decode()}},
                patch_type="merge", manager="e2e")
    rc, out, recap = run(cluster, NAMESPACES, {"orchestrator_extra_workflow_namespaces": EXTRA}, check=True)
    assert rc == 0 and recap["changed"] > 0, out[-6000:]
    assert decoded(store.get("v1", "Secret", SECRET, "team-a"))["postgres-password"] == password
    rc, out, recap = run(cluster, NAMESPACES, {"orchestrator_extra_workflow_namespaces": EXTRA})
    assert rc == 0 and recap["changed"] > 0, out[-6000:]
    assert "n3w" not in out
    for ns in ("team-a", "team-b"):
        assert decoded(store.get("v1", "Secret", SECRET, ns))["postgres-password"] == "n3w"

    # team-b leaves the list and is taken back: only what was added there goes; team-a is untouched.
    team_a = versions_in(store, "team-a")
    store.delete(SF_API, "SonataFlow", "greeting", "team-b")
    rc, out, recap = run(cluster, CLEANUP, {"cleanup_components": [], "cleanup_workflow_namespaces": ["team-b"]})
    assert rc == 0, out[-6000:]
    assert labels(store, "team-b") == {"team": "b", "kubernetes.io/metadata.name": "team-b"}
    team_b_meta = store.get("v1", "Namespace", "team-b")["metadata"]
    assert "parodos.orchestrator/namespace-labels" not in (team_b_meta.get("annotations") or {})
    assert policy_names(store, "team-b") == []
    assert store.try_get("v1", "Secret", SECRET, "team-b") is None
    assert versions_in(store, "team-a") == team_a
    assert store.get(SF_API, "SonataFlowPlatform", "sonataflow-platform", PLATFORM)
    assert policy_names(store, PLATFORM) == POLICIES
    rc, out, recap = run(cluster, CLEANUP, {"cleanup_components": [], "cleanup_workflow_namespaces": ["team-b"]})
    assert rc == 0 and recap["changed"] == 0, out[-6000:]

    # team-a, created by the collection, goes whole once its workflow is gone (or cleanup is told to remove it).
    rc, out, recap = run(cluster, CLEANUP, {"cleanup_components": [], "cleanup_workflow_namespaces": ["team-a"]})
    assert rc != 0 and "team-a/greeting" in out
    assert store.try_get("v1", "Namespace", "team-a") is not None
    rc, out, recap = run(cluster, CLEANUP, {"cleanup_components": [], "cleanup_workflow_namespaces": ["team-a"],
                                            "cleanup_remove_workflows": True})
    assert rc == 0, out[-6000:]
    assert store.try_get("v1", "Namespace", "team-a") is None
    assert store.try_get(SF_API, "SonataFlow", "greeting", "team-c") is not None  # not in the list: stays


def test_gitops_label_and_a_namespace_without_persistence(cluster, tmp_path):
    """The playbook alone, before any install: ArgoCD's label with GitOps on, taken back on a namespace that
    existed before and off one the collection made when GitOps is turned off; no copy without persistence."""
    cluster.store.create({"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": "team-e", "labels": {"argocd.argoproj.io/managed-by": "theirs"}}},
                         manager="seed")
    extra = {"orchestrator_extra_workflow_namespaces": [{"name": "team-d", "persistence": False},
                                                        {"name": "team-e", "persistence": False}],
             "orchestrator_gitops_enabled": True, "orchestrator_components": ["serverless_logic", "rhdh"],
             "serverless_logic_postgresql_service_name": "db", "serverless_logic_postgresql_service_namespace": "db",
             "serverless_logic_postgresql_secret_name": "db"}
    rc, out, recap = run(cluster, NAMESPACES, extra)
    assert rc == 0, out[-6000:]
    for name in ("team-d", "team-e"):
        assert labels(cluster.store, name)["argocd.argoproj.io/managed-by"] == "orchestrator-gitops"
    assert cluster.store.list("v1", "Secret", "team-d") == []
    assert reported(out)["team-d"] is None
    rc, out, recap = run(cluster, NAMESPACES, {**extra, "orchestrator_gitops_enabled": False})
    assert rc == 0, out[-6000:]
    assert "argocd.argoproj.io/managed-by" not in labels(cluster.store, "team-d")
    assert labels(cluster.store, "team-e")["argocd.argoproj.io/managed-by"] == "theirs"
    assert labels(cluster.store, "team-e")[WORKFLOW_LABEL] == ""
    rc, out, recap = run(cluster, NAMESPACES, {**extra, "orchestrator_gitops_enabled": False})
    assert rc == 0 and recap["changed"] == 0, out[-6000:]


def test_cleanup_finds_a_namespace_prepared_with_the_module_and_takes_back_its_label(cluster, tmp_path):
    """A namespace made by the module with its default labels, and the label on one that existed before."""
    store = cluster.store
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "before", "labels": {"team": "x"}}},
                 manager="seed")
    for name in ("made", "before"):
        output, result = run_module(cluster, tmp_path, "workflow_namespace",
                                    {"name": name, "rhdh_namespace": "rhdh-operator"})
        assert result["changed"] is True, result
    assert policy_names(store, "made") == POLICIES and labels(store, "before")[WORKFLOW_LABEL] == ""
    rc, out, recap = run(cluster, CLEANUP, {"cleanup_components": ["serverless_logic"]})
    assert rc == 0, out[-6000:]
    assert store.try_get("v1", "Namespace", "made") is None
    assert labels(store, "before") == {"team": "x", "kubernetes.io/metadata.name": "before"}
    assert policy_names(store, "before") == []
    rc, out, recap = run(cluster, CLEANUP, {"cleanup_components": ["serverless_logic"]})
    assert rc == 0 and recap["changed"] == 0, out[-6000:]
