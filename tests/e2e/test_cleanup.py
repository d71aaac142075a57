"""playbooks/cleanup.yml against the local test cluster, after a real install with playbooks/site.yml.

One installed cluster goes through the checks in an order that leaves each
one's starting point for the next: check mode, the refusal while a workflow
exists, removal of one component (with its workflows), a custom resource held
by a foreign finalizer, the full cleanup and a second run. The wrong order
(the operator before its custom resource) has its own small cluster.
"""

from __future__ import annotations

import re
import time

from kubernetes import config as kube_config
from kubernetes.dynamic import DynamicClient

from tests.helpers import REPO_ROOT, play_recap, run_playbook, writes

SITE = REPO_ROOT / "playbooks" / "site.yml"
CLEANUP = REPO_ROOT / "playbooks" / "cleanup.yml"
FAST_SITE = {"__serverless_poll_delay": 0.2, "__serverless_logic_poll_delay": 0.2, "__postgresql_poll_delay": 1,
             "__rhdh_poll_delay": 0.2}
FAST = {"__cleanup_poll_delay": 0.2}
MANAGED_BY = "app.kubernetes.io/managed-by"
OURS = {MANAGED_BY: "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator"}
OLM = "operators.coreos.com/v1alpha1"
OG_API = "operators.coreos.com/v1"
KNATIVE = "operator.knative.dev/v1beta1"
SONATAFLOW = "sonataflow.org/v1alpha08"
RHDH = "rhdh.redhat.com/v1alpha1"
WORKFLOW_NS = "sonataflow-infra"
ALL_COMPONENTS = ["rhdh", "serverless_logic", "serverless", "postgresql", "gitops"]
SEEDED = (("v1", "Namespace", "team-apps", None),
          ("v1", "Secret", "team-credentials", "team-apps"),
          (OLM, "Subscription", "openshift-pipelines-operator-rh", "openshift-operators"))


def run_cleanup(cluster, extra_vars=None, *, check=False):
    proc = run_playbook(cluster, CLEANUP, {**FAST, **(extra_vars or {})}, check=check, timeout=300)
    out = proc.stdout + proc.stderr
    return proc.returncode, out, play_recap(proc.stdout)


def flat(text):
    return " ".join(text.replace("\\n", "\n").split())


def ours(store):
    """'Kind ns/name' of every object that carries the collection's mark."""
    return sorted(f"{rt.kind} {meta.get('namespace') or ''}/{meta['name']}" for rt, meta in store.metadata_index()
                  if (meta.get("labels") or {}).get(MANAGED_BY) == OURS[MANAGED_BY])


def condition(obj, ctype):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == ctype), {})


def seed(store):
    """Objects that were there before the install and must survive every cleanup."""
    store.create({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "team-apps", "labels": {"app.kubernetes.io/component": "serverless"}}},
                 manager="seed")
    store.create({"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": "team-credentials", "namespace": "team-apps",
                               "labels": {"app.kubernetes.io/component": "postgresql"}},
                  "stringData": {"password": "kept"}}, manager="seed")
    store.create({"apiVersion": OLM, "kind": "Subscription",
                  "metadata": {"name": "openshift-pipelines-operator-rh", "namespace": "openshift-operators"},
                  "spec": {"name": "openshift-pipelines-operator-rh", "channel": "latest", "source": "redhat-operators",
                           "sourceNamespace": "openshift-marketplace"}}, manager="seed")


def seeded_versions(store):
    return {obj[:3]: store.get(*obj)["metadata"]["resourceVersion"] for obj in SEEDED}


def add_workflow(store):
    store.create({"apiVersion": SONATAFLOW, "kind": "SonataFlow",
                  "metadata": {"name": "greeting", "namespace": WORKFLOW_NS},
                  "spec": {"flow": {"start": "hello", "states": [
                      {"name": "hello", "type": "inject", "data": {"greeting": "hi"}, "end": True}]}}},
                 manager="e2e")


def assert_others_ready(store):
    """OpenShift Serverless, PostgreSQL and Developer Hub still run once Serverless Logic is removed."""
    for kind, name in (("KnativeServing", "knative-serving"), ("KnativeEventing", "knative-eventing")):
        assert condition(store.get(KNATIVE, kind, name, name), "Ready")["status"] == "True"
    assert store.get("apps/v1", "StatefulSet", "sonataflow-psql-postgresql", WORKFLOW_NS)["status"][
        "readyReplicas"] == 1
    for backstage in store.list(RHDH, "Backstage"):
        assert condition(backstage, "Deployed")["status"] == "True"
    for sub in store.list(OLM, "Subscription"):
        csv = store.get(OLM, "ClusterServiceVersion", sub["status"]["installedCSV"], sub["metadata"]["namespace"])
        assert csv["status"]["phase"] == "Succeeded"


def test_cleanup_after_a_site_install(cluster):
    store = cluster.store
    seed(store)
    proc = run_playbook(cluster, SITE, FAST_SITE, timeout=400)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    installed = ours(store)
    assert "KnativeServing knative-serving/knative-serving" in installed
    before = seeded_versions(store)

    # Check mode (of every component): dry-run deletions only, and what each step would remove.
    cluster.requests.reset()
    rc, out, recap = run_cleanup(cluster, {"cleanup_components": ALL_COMPONENTS}, check=True)
    assert rc == 0, out[-6000:]
    assert writes(cluster) == []
    assert ("DELETE", "/api/v1/namespaces/knative-serving") in writes(cluster, dry_run=True)
    assert "would_remove" in out
    for ref in ("KnativeServing knative-serving/knative-serving",
                "SonataFlowPlatform sonataflow-infra/sonataflow-platform",
                "StatefulSet sonataflow-infra/sonataflow-psql-postgresql",
                "Subscription openshift-serverless/serverless-operator", "Namespace openshift-serverless-logic"):
        assert ref in out, ref
    assert ours(store) == installed

    # A workflow exists and its removal was not asked for: stop before any write.
    add_workflow(store)
    cluster.requests.reset()
    rc, out, recap = run_cleanup(cluster)
    assert rc != 0
    text = flat(out)
    assert "1 SonataFlow workflow(s) exist: sonataflow-infra/greeting" in text
    assert "cleanup_remove_workflows=true" in text
    assert writes(cluster) == []
    assert ours(store) == installed

    # Only Serverless Logic, with its workflows. The workflow namespace is marked
    # as Serverless Logic's but holds PostgreSQL's objects: it stays, and so does
    # everything of the other components.
    assert store.get("v1", "Namespace", WORKFLOW_NS)["metadata"]["labels"]["app.kubernetes.io/component"] \
        == "serverless-logic"
    logic_csv = store.get(OLM, "Subscription", "logic-operator-rhel8", "openshift-serverless-logic")["status"][
        "installedCSV"]
    rc, out, recap = run_cleanup(cluster, {"cleanup_components": ["serverless_logic"],
                                           "cleanup_remove_workflows": True})
    assert rc == 0, out[-6000:]
    assert recap["changed"] > 0
    assert store.try_get(SONATAFLOW, "SonataFlow", "greeting", WORKFLOW_NS) is None
    assert store.list(SONATAFLOW, "SonataFlowPlatform") == []
    assert store.list(SONATAFLOW, "SonataFlowClusterPlatform") == []
    assert store.try_get(OLM, "ClusterServiceVersion", logic_csv, "openshift-serverless-logic") is None
    assert store.try_get("v1", "Namespace", "openshift-serverless-logic") is None
    assert store.list("networking.k8s.io/v1", "NetworkPolicy", WORKFLOW_NS) == []
    assert store.try_get("v1", "Namespace", WORKFLOW_NS) is not None
    assert re.search(r'"namespaces_kept": \[\s*"sonataflow-infra"\s*\]', out), out[-3000:]
    namespaces = [ref for ref in installed if ref.startswith("Namespace ")]
    assert [ref for ref in ours(store) if ref.startswith("Namespace ")] == [
        ref for ref in namespaces if ref != "Namespace /openshift-serverless-logic"]
    assert_others_ready(store)

    # A finalizer that nobody removes (the operator removes only its own): the
    # step fails within cleanup_timeout and names the object and its finalizers.
    serving = store.get(KNATIVE, "KnativeServing", "knative-serving", "knative-serving")
    held = serving["metadata"]["finalizers"] + ["example.com/hold"]
    store.patch(KNATIVE, "KnativeServing", "knative-serving", "knative-serving",
                {"metadata": {"finalizers": held}}, patch_type="merge", manager="e2e")
    rc, out, recap = run_cleanup(cluster, {"cleanup_timeout": 3})
    assert rc != 0
    text = flat(out)
    assert "Timed out after 3s: 1 of" in text
    assert "OpenShift Serverless: KnativeServing knative-serving/knative-serving is still there" in text
    assert "finalizers: example.com/hold" in text
    store.remove_finalizer(KNATIVE, "KnativeServing", "knative-serving", "knative-serving", "example.com/hold",
                           manager="e2e")

    # Developer Hub alone: its database volume claim (made by the operator's
    # StatefulSet, not ours) keeps its data, and so its namespace stays.
    claim = "data-backstage-psql-backstage-0"
    assert store.try_get("v1", "PersistentVolumeClaim", claim, "rhdh-operator") is not None
    rc, out, recap = run_cleanup(cluster, {"cleanup_components": ["rhdh"]})
    assert rc == 0, out[-6000:]
    assert store.list(RHDH, "Backstage") == []
    assert store.try_get("v1", "PersistentVolumeClaim", claim, "rhdh-operator") is not None
    assert store.try_get("v1", "Namespace", "rhdh-operator") is not None
    assert re.search(r'"namespaces_kept": \[\s*"rhdh-operator"\s*\]', out), out[-3000:]

    # The full cleanup (every component, so no namespace has to be checked for
    # objects of a component that stays; the CRDs too): nothing of ours is left,
    # and what was there before is untouched.
    product_csvs = {ns: store.get(OLM, "Subscription", name, ns)["status"]["installedCSV"]
                    for ns, name in (("openshift-serverless", "serverless-operator"), ("rhdh-operator", "rhdh"))
                    if store.try_get(OLM, "Subscription", name, ns)}
    rc, out, recap = run_cleanup(cluster, {"cleanup_components": ALL_COMPONENTS, "cleanup_remove_crds": True,
                                           "cleanup_remove_knative_crds": True, "cleanup_remove_rhdh_database": True})
    assert rc == 0, out[-6000:]
    assert recap["changed"] > 0
    assert ours(store) == []
    assert store.try_get("v1", "PersistentVolumeClaim", claim, "rhdh-operator") is None
    assert f"PersistentVolumeClaim rhdh-operator/{claim}" in out
    for ns, csv in product_csvs.items():
        assert store.try_get(OLM, "ClusterServiceVersion", csv, ns) is None
    assert store.try_get("v1", "Namespace", WORKFLOW_NS) is None
    crds = {crd["metadata"]["name"] for crd in store.list("apiextensions.k8s.io/v1", "CustomResourceDefinition")}
    assert crds.isdisjoint({"sonataflows.sonataflow.org", "sonataflowplatforms.sonataflow.org",
                            "sonataflowclusterplatforms.sonataflow.org", "backstages.rhdh.redhat.com",
                            "knativeservings.operator.knative.dev", "knativeeventings.operator.knative.dev"})
    assert {"pipelines.tekton.dev", "tasks.tekton.dev"} <= crds
    assert seeded_versions(store) == before
    pipelines = store.get(OLM, "Subscription", "openshift-pipelines-operator-rh", "openshift-operators")
    assert store.try_get(OLM, "ClusterServiceVersion", pipelines["status"]["installedCSV"], "openshift-operators")

    # Again, with the default components (their APIs are not served any more):
    # nothing to do, nothing sent.
    cluster.requests.reset()
    rc, out, recap = run_cleanup(cluster)
    assert rc == 0, out[-6000:]
    assert recap["changed"] == 0
    assert writes(cluster) == [] and writes(cluster, dry_run=True) == []


def wait_for(predicate, what, timeout=30.0):
    """Poll the test cluster until predicate() is true (the controllers run in the background)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def install_serverless(store):
    """OpenShift Serverless and a KnativeServing of ours, written straight into the store."""
    labels = {**OURS, "app.kubernetes.io/component": "serverless"}
    for ns in ("openshift-serverless", "knative-serving"):
        store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}},
                     manager="e2e")
    store.create({"apiVersion": OG_API, "kind": "OperatorGroup",
                  "metadata": {"name": "serverless-operator-group", "namespace": "openshift-serverless",
                               "labels": labels}, "spec": {}}, manager="e2e")
    store.create({"apiVersion": OLM, "kind": "Subscription",
                  "metadata": {"name": "serverless-operator", "namespace": "openshift-serverless", "labels": labels},
                  "spec": {"name": "serverless-operator", "channel": "stable", "source": "redhat-operators",
                           "sourceNamespace": "openshift-marketplace"}}, manager="e2e")

    def csv_succeeded():
        sub = store.get(OLM, "Subscription", "serverless-operator", "openshift-serverless")
        name = (sub.get("status") or {}).get("installedCSV")
        csv = name and store.try_get(OLM, "ClusterServiceVersion", name, "openshift-serverless")
        return bool(csv) and (csv.get("status") or {}).get("phase") == "Succeeded"

    wait_for(csv_succeeded, "the serverless operator is installed")
    store.create({"apiVersion": KNATIVE, "kind": "KnativeServing",
                  "metadata": {"name": "knative-serving", "namespace": "knative-serving", "labels": labels}},
                 manager="e2e")
    wait_for(lambda: condition(store.get(KNATIVE, "KnativeServing", "knative-serving", "knative-serving"),
                               "Ready").get("status") == "True", "KnativeServing is Ready")


def test_operator_removed_before_its_custom_resource_leaves_it_stuck(cluster):
    store = cluster.store
    install_serverless(store)
    client = DynamicClient(kube_config.new_client_from_config(config_file=str(cluster.kubeconfig)))
    subs = client.resources.get(api_version=OLM, kind="Subscription")
    csvs = client.resources.get(api_version=OLM, kind="ClusterServiceVersion")
    servings = client.resources.get(api_version=KNATIVE, kind="KnativeServing")
    csv_name = subs.get(name="serverless-operator", namespace="openshift-serverless").status.installedCSV

    # The wrong order: the operator (its Subscription and CSV) first, then its custom resource.
    subs.delete(name="serverless-operator", namespace="openshift-serverless")
    csvs.delete(name=csv_name, namespace="openshift-serverless")
    wait_for(lambda: store.list("apps/v1", "Deployment", "openshift-serverless") == [],
             "OLM removes the operator Deployments")
    servings.delete(name="knative-serving", namespace="knative-serving")
    cluster.run_controllers(passes=5)
    stuck = servings.get(name="knative-serving", namespace="knative-serving").to_dict()
    assert stuck["metadata"]["deletionTimestamp"]
    assert set(stuck["metadata"]["finalizers"]) == {"knativeservings.operator.knative.dev",
                                                    "knative-serving-openshift"}

    # The cleanup does not hang on it: it gives up after cleanup_timeout and says why.
    rc, out, recap = run_cleanup(cluster, {"cleanup_components": ["serverless"], "cleanup_timeout": 2})
    assert rc != 0
    text = flat(out)
    assert "OpenShift Serverless: KnativeServing knative-serving/knative-serving is still there" in text
    assert "finalizers: knativeservings.operator.knative.dev, knative-serving-openshift" in text


def test_bad_settings_are_refused_before_any_request(cluster):
    rc, out, recap = run_cleanup(cluster, {"cleanup_components": ["serverless", "knative"]})
    assert rc != 0
    assert ("value of cleanup_components must be one or more of: rhdh, serverless_logic, serverless, postgresql, "
            "gitops. Got no match for: knative") in flat(out)
    rc, out, recap = run_cleanup(cluster, {"cleanup_components": [], "cleanup_timeout": 0})
    assert rc != 0
    text = flat(out)
    assert "cleanup_components is empty: name at least one of rhdh, serverless_logic, serverless, postgresql, gitops" \
        in text
    assert "cleanup_timeout (0) must be a number of seconds above 0" in text
    assert list(cluster.requests.entries) == []
