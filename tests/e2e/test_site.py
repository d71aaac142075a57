"""playbooks/site.yml against the local test cluster: converge, no-change rerun, a failing component, check mode.

Each case starts its own cluster and asserts on the cluster's objects and
status, the run's output and the request log.
"""

from __future__ import annotations

import re

from tests.helpers import REPO_ROOT, play_recap, run_playbook, writes

SITE = REPO_ROOT / "playbooks" / "site.yml"
# The test cluster is quick: look at what is waited for more often than the defaults.
FAST = {"__serverless_poll_delay": 0.2, "__serverless_logic_poll_delay": 0.2, "__postgresql_poll_delay": 1,
        "__rhdh_poll_delay": 0.2}
OURS = {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator"}
OLM = "operators.coreos.com/v1alpha1"
KNATIVE = "operator.knative.dev/v1beta1"
SONATAFLOW = "sonataflow.org/v1alpha08"
WORKFLOW_NS = "sonataflow-infra"
RHDH = "rhdh.redhat.com/v1alpha1"
RHDH_NS = "rhdh-operator"


def run_site(cluster, extra_vars=None, *, check=False, args=()):
    proc = run_playbook(cluster, SITE, {**FAST, **(extra_vars or {})}, check=check, args=tuple(args), timeout=400)
    return proc.returncode, proc.stdout + proc.stderr, play_recap(proc.stdout)


def condition(obj, ctype):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == ctype), {})


def is_ours(obj):
    labels = obj["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in OURS.items())


def assert_installed(store):
    """Every component is there, ours, with the expected spec, and ready."""
    for ns, sub_name, package, channel, starting_csv in (
            ("openshift-serverless", "serverless-operator", "serverless-operator", "stable", None),
            ("openshift-serverless-logic", "logic-operator-rhel8", "logic-operator-rhel8", "alpha",
             "logic-operator-rhel8.v1.34.0"),
            (RHDH_NS, "rhdh", "rhdh", "fast-1.3", None)):
        sub = store.get(OLM, "Subscription", sub_name, ns)
        assert is_ours(sub)
        assert (sub["spec"]["name"], sub["spec"]["channel"], sub["spec"]["source"]) == (
            package, channel, "redhat-operators")
        assert sub["spec"].get("startingCSV") == starting_csv
        csv = store.get(OLM, "ClusterServiceVersion", sub["status"]["installedCSV"], ns)
        assert csv["status"]["phase"] == "Succeeded"
        assert [og["metadata"]["name"] for og in store.list("operators.coreos.com/v1", "OperatorGroup", ns)] == [
            {"openshift-serverless": "serverless-operator-group", RHDH_NS: "rhdh-operator-group"}.get(
                ns, "openshift-serverless-logic")]
    for kind, name in (("KnativeServing", "knative-serving"), ("KnativeEventing", "knative-eventing")):
        assert is_ours(store.get("v1", "Namespace", name))
        cr = store.get(KNATIVE, kind, name, name)
        assert is_ours(cr)
        assert condition(cr, "Ready")["status"] == "True"
    platform = store.get(SONATAFLOW, "SonataFlowPlatform", "sonataflow-platform", WORKFLOW_NS)
    assert is_ours(platform)
    assert platform["spec"]["build"]["template"]["resources"] == {
        "requests": {"memory": "64Mi", "cpu": "250m"}, "limits": {"memory": "1Gi", "cpu": "500m"}}
    for service in ("dataIndex", "jobService"):
        spec = platform["spec"]["services"][service]
        assert spec["enabled"] is True
        assert spec["persistence"]["postgresql"] == {
            "secretRef": {"name": "sonataflow-psql-postgresql", "userKey": "postgres-username",
                          "passwordKey": "postgres-password"},
            "serviceRef": {"name": "sonataflow-psql-postgresql", "namespace": WORKFLOW_NS, "port": 5432,
                           "databaseName": "sonataflow"}}
    assert condition(platform, "Succeed")["status"] == "True"
    cluster_platform = store.get(SONATAFLOW, "SonataFlowClusterPlatform", "cluster-platform", None)
    assert cluster_platform["spec"]["platformRef"] == {"name": "sonataflow-platform", "namespace": WORKFLOW_NS}
    assert condition(cluster_platform, "Succeed")["status"] == "True"
    for name in ("sonataflow-platform-data-index-service", "sonataflow-platform-jobs-service"):
        deployment = store.get("apps/v1", "Deployment", name, WORKFLOW_NS)
        assert condition(deployment, "Available")["status"] == "True"
    sts = store.get("apps/v1", "StatefulSet", "sonataflow-psql-postgresql", WORKFLOW_NS)
    assert sts["status"]["readyReplicas"] == 1
    namespace = store.get("v1", "Namespace", WORKFLOW_NS)
    assert namespace["metadata"]["labels"]["rhdh.redhat.com/workflow-namespace"] == ""
    policies = {p["metadata"]["name"] for p in store.list("networking.k8s.io/v1", "NetworkPolicy", WORKFLOW_NS)}
    assert policies == {"allow-rhdh-to-sonataflow-and-workflows", "allow-intra-namespace"}
    backstage = store.get(RHDH, "Backstage", "backstage", RHDH_NS)
    assert is_ours(backstage)
    assert condition(backstage, "Deployed")["status"] == "True"
    app = backstage["spec"]["application"]
    assert [c["name"] for c in app["appConfig"]["configMaps"]] == [
        "app-config-rhdh", "app-config-rhdh-auth", "app-config-rhdh-catalog"]
    assert app["dynamicPluginsConfigMapName"] == "dynamic-plugins-rhdh"
    assert app["extraEnvs"]["secrets"] == [{"name": "backstage-backend-auth-secret"}]
    assert condition(store.get("apps/v1", "Deployment", "backstage-backstage", RHDH_NS), "Available")["status"] == "True"
    assert store.get("apps/v1", "StatefulSet", "backstage-psql-backstage", RHDH_NS)["status"]["readyReplicas"] == 1
    secret = store.get("v1", "Secret", "backstage-backend-auth-secret", RHDH_NS)
    assert is_ours(secret)
    assert sorted(secret["data"]) == ["BACKEND_SECRET", "K8S_CLUSTER_TOKEN", "K8S_CLUSTER_URL"]
    plugins = store.get("v1", "ConfigMap", "dynamic-plugins-rhdh", RHDH_NS)["data"]["dynamic-plugins.yaml"]
    assert "http://sonataflow-platform-data-index-service.sonataflow-infra" in plugins


def test_site_converges_then_changes_nothing(cluster):
    rc, out, recap = run_site(cluster)
    assert rc == 0, out[-6000:]
    assert recap["failed"] == 0 and recap["changed"] > 0
    assert_installed(cluster.store)

    cluster.requests.reset()
    rc, out, recap = run_site(cluster)
    assert rc == 0, out[-6000:]
    assert recap["changed"] == 0, out[-6000:]
    # The roles of this play write nothing on a no-change run (the reference
    # PostgreSQL's own StatefulSet/Service patches aside).
    paths = [path for method, path in writes(cluster)
             if not re.search(r"/(statefulsets|services)/sonataflow-psql-postgresql$", path)]
    assert paths == []
    assert_installed(cluster.store)


def test_site_names_the_component_that_never_gets_ready(cluster_factory):
    cluster = cluster_factory(never_ready={"KnativeServing"})
    rc, out, recap = run_site(cluster, {"serverless_knative_timeout": 3})
    assert rc != 0
    assert recap["failed"] == 1
    flat = " ".join(out.replace("\\n", "\n").split())
    assert "Knative Serving and Eventing: KnativeServing knative-serving/knative-serving" in flat
    assert "condition Ready=True" in flat
    assert "Waiting on deployments: activator, autoscaler" in flat
    # Knative Eventing was ready: only Knative Serving is reported.
    assert "1 of 2 resource(s) not ready" in flat
    # Both custom resources were applied before waiting on either.
    assert condition(cluster.store.get(KNATIVE, "KnativeEventing", "knative-eventing", "knative-eventing"),
                     "Ready")["status"] == "True"


def test_site_check_mode_on_an_empty_cluster_writes_nothing(cluster):
    rc, out, recap = run_site(cluster, check=True)
    assert rc == 0, out[-6000:]
    assert writes(cluster) == []
    assert writes(cluster, dry_run=True)
    store = cluster.store
    assert store.list(OLM, "Subscription") == []
    assert store.try_get("v1", "Namespace", "openshift-serverless") is None
    assert store.try_get("v1", "Namespace", WORKFLOW_NS) is None
    for ref in ("Subscription/openshift-serverless/serverless-operator",
                "Subscription/openshift-serverless-logic/logic-operator-rhel8",
                "Namespace/knative-serving", "KnativeServing/knative-serving/knative-serving",
                "KnativeEventing/knative-eventing/knative-eventing",
                "SonataFlowPlatform/sonataflow-infra/sonataflow-platform",
                "SonataFlowClusterPlatform/cluster-platform",
                "Subscription/rhdh-operator/rhdh", "Backstage/rhdh-operator/backstage",
                "ConfigMap/rhdh-operator/app-config-rhdh"):
        assert ref in out, ref


def test_site_checks_the_channel_the_role_subscribes_to_before_any_write(cluster):
    """The preflight checks rhdh_channel itself, not a copy of its default."""
    rc, out, recap = run_site(cluster, {"rhdh_channel": "fast-9.9"})
    assert rc != 0
    flat = " ".join(out.replace("\\n", "\n").split())
    assert "[package/rhdh] Package rhdh has no channel fast-9.9 in catalog redhat-operators" in flat
    # The other packages, checked with their own channels, passed.
    assert "Preflight found 1 problem(s)" in flat
    # the preflight step failed: nothing after it ran
    assert '"failed_step": "preflight"' in out
    assert writes(cluster, dry_run=None) == []


def test_site_checks_every_component_before_any_write(cluster):
    """A bad setting of the last component stops the run before the first one writes anything."""
    rc, out, recap = run_site(cluster, {"rhdh_timeout": 0})
    assert rc != 0
    assert recap["failed"] == 1
    assert "rhdh_timeout" in out
    assert "TASK [parodos.orchestrator.prerequisites :" not in out
    assert writes(cluster, dry_run=None) == []
    assert cluster.store.list(OLM, "Subscription") == []
