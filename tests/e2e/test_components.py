"""playbooks/site.yml with a component selection (orchestrator_components) and with tags.

Each case starts its own test cluster and asserts on what the cluster holds,
the run's output and the request log.
"""

from __future__ import annotations

import pytest

from tests.cluster.errors import ApiError
from tests.e2e.test_site import (KNATIVE, OLM, RHDH, RHDH_NS, WORKFLOW_NS, assert_installed, condition, is_ours,
                                 run_site)
from tests.helpers import writes

LOGIC_NS = "openshift-serverless-logic"
POSTGRESQL = "sonataflow-psql-postgresql"


def flat(text):
    return " ".join(text.replace("\\n", "\n").split())


def listed(store, api_version, kind, namespace=None):
    """The objects of a kind, none when its API is not served (its CRD is not installed)."""
    try:
        return store.list(api_version, kind, namespace)
    except ApiError as exc:
        assert exc.code == 404
        return []


def subscriptions(store):
    return sorted((s["metadata"]["namespace"], s["metadata"]["name"]) for s in store.list(OLM, "Subscription"))


def assert_serverless_ready(store):
    csv_name = store.get(OLM, "Subscription", "serverless-operator", "openshift-serverless")["status"]["installedCSV"]
    assert store.get(OLM, "ClusterServiceVersion", csv_name, "openshift-serverless")["status"]["phase"] == "Succeeded"
    for kind, name in (("KnativeServing", "knative-serving"), ("KnativeEventing", "knative-eventing")):
        cr = store.get(KNATIVE, kind, name, name)
        assert is_ours(cr)
        assert condition(cr, "Ready")["status"] == "True"


def assert_nothing_but_serverless(store):
    assert subscriptions(store) == [("openshift-serverless", "serverless-operator")]
    for namespace in (LOGIC_NS, WORKFLOW_NS, RHDH_NS, "orchestrator"):
        assert store.try_get("v1", "Namespace", namespace) is None, namespace
    assert store.list("apps/v1", "StatefulSet") == []
    assert [s["metadata"]["name"] for s in store.list("v1", "Secret")
            if s["metadata"]["name"] in (POSTGRESQL, "backstage-backend-auth-secret")] == []
    assert listed(store, RHDH, "Backstage") == []
    assert listed(store, "sonataflow.org/v1alpha08", "SonataFlowPlatform") == []
    assert store.try_get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "backstages.rhdh.redhat.com") is None


def test_serverless_alone_then_every_component(cluster):
    rc, out, recap = run_site(cluster, {"orchestrator_components": ["serverless"]})
    assert rc == 0, out[-6000:]
    assert recap["failed"] == 0
    assert_serverless_ready(cluster.store)
    assert_nothing_but_serverless(cluster.store)
    # Only the selected component's phases ran.
    for role in ("serverless_logic", "postgresql", "rhdh"):
        assert f"TASK [parodos.orchestrator.{role} :" not in out, role

    start = len(cluster.requests)
    rc, out, recap = run_site(cluster)
    assert rc == 0, out[-6000:]
    assert_installed(cluster.store)
    # OpenShift Serverless was there already: the second run wrote nothing of it.
    assert [(m, p) for m, p in writes(cluster, since=start)
            if "openshift-serverless/" in p or "knative" in p] == []


def test_without_rhdh_the_given_developer_hub_namespace_is_admitted(cluster):
    components = ["serverless", "serverless_logic", "postgresql"]
    rc, out, recap = run_site(cluster, {"orchestrator_components": components,
                                        "orchestrator_rhdh_namespace": "team-rhdh"})
    assert rc == 0, out[-6000:]
    store = cluster.store
    assert subscriptions(store) == [("openshift-serverless", "serverless-operator"), (LOGIC_NS, "logic-operator-rhel8")]
    assert store.try_get("v1", "Namespace", RHDH_NS) is None
    assert store.try_get("v1", "Namespace", "team-rhdh") is None
    assert listed(store, RHDH, "Backstage") == []
    platform = store.get("sonataflow.org/v1alpha08", "SonataFlowPlatform", "sonataflow-platform", WORKFLOW_NS)
    assert condition(platform, "Succeed")["status"] == "True"
    policy = store.get("networking.k8s.io/v1", "NetworkPolicy", "allow-rhdh-to-sonataflow-and-workflows", WORKFLOW_NS)
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule.get("from", [])]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-rhdh"}}} in peers
    assert store.get("apps/v1", "StatefulSet", POSTGRESQL, WORKFLOW_NS)["status"]["readyReplicas"] == 1


BAD_SELECTIONS = [
    pytest.param({"orchestrator_components": ["serverless", "tekton"]},
                 ["orchestrator_components has unknown component(s) tekton; the components are serverless, "
                  "serverless_logic, postgresql, rhdh, gitops."],
                 id="unknown-name"),
    pytest.param({"orchestrator_components": "rhdh"},
                 ['orchestrator_components must be a list of component names, such as [serverless, '
                  'serverless_logic, postgresql, rhdh, gitops]; it is the string "rhdh".'],
                 id="string"),
    pytest.param({"orchestrator_components": ["rhdh", "serverless", "rhdh"]},
                 ["orchestrator_components lists rhdh more than once; name each component once."],
                 id="duplicates"),
    pytest.param({"orchestrator_components": ["serverless", "serverless_logic", "postgresql"]},
                 ["orchestrator_components leaves out rhdh but keeps serverless_logic: set orchestrator_rhdh_namespace "
                  "to the namespace of the Developer Hub that uses the workflows"],
                 id="rhdh-off-without-namespace"),
    pytest.param({"orchestrator_components": ["serverless", "serverless_logic", "rhdh"],
                  "serverless_logic_postgresql_service_name": "pg"},
                 ["orchestrator_components leaves out postgresql but keeps serverless_logic: name the database of "
                  "Data Index and the Jobs Service with serverless_logic_postgresql_service_name, "
                  "serverless_logic_postgresql_service_namespace, serverless_logic_postgresql_secret_name "
                  "(missing: serverless_logic_postgresql_service_namespace, serverless_logic_postgresql_secret_name)."],
                 id="serverless-logic-without-database"),
]


@pytest.mark.parametrize("extra_vars, messages", BAD_SELECTIONS)
def test_a_bad_selection_fails_before_any_request(cluster, extra_vars, messages):
    start = len(cluster.requests)
    rc, out, recap = run_site(cluster, extra_vars)
    assert rc != 0
    assert recap["failed"] == 1
    text = flat(out)
    assert "Invalid shared settings (parodos.orchestrator.common):" in text
    for message in messages:
        assert message in text
    # The string is not taken for a list of its letters.
    assert "unknown component(s) r" not in text
    # Checked before the cluster is even read.
    assert writes(cluster, dry_run=None) == []
    assert len(cluster.requests) == start


def test_an_external_database_for_serverless_logic_passes_the_selection_check(cluster):
    """The same selection with the database named gets past the checks to the cluster (here: a stopped preflight)."""
    external = {"orchestrator_components": ["serverless", "serverless_logic", "rhdh"],
                "serverless_logic_postgresql_service_name": "pg", "serverless_logic_postgresql_service_namespace": "db",
                "serverless_logic_postgresql_secret_name": "pg-credentials",
                "prerequisites_openshift_min_version": "99.0"}
    rc, out, recap = run_site(cluster, external)
    assert rc != 0
    text = flat(out)
    assert "Invalid shared settings" not in text
    assert "is older than the minimum supported 99.0" in text
    assert writes(cluster, dry_run=None) == []


def test_tags_run_the_phases_of_the_tagged_component_only(cluster):
    rc, out, recap = run_site(cluster, args=("--tags", "postgresql"))
    assert rc == 0, out[-6000:]
    store = cluster.store
    assert store.get("apps/v1", "StatefulSet", POSTGRESQL, WORKFLOW_NS)["status"]["readyReplicas"] == 1
    assert store.list(OLM, "Subscription") == []
    assert store.list("networking.k8s.io/v1", "NetworkPolicy", WORKFLOW_NS) == []
    # The checks of every selected component and the preflight ran all the same.
    for task in ("parodos.orchestrator.rhdh : Validate the settings of the rhdh role",
                 "parodos.orchestrator.serverless : Validate the settings of the serverless role",
                 "parodos.orchestrator.prerequisites : Report the prerequisite checks"):
        assert f"TASK [{task}]" in out, task
    assert "prerequisite checks passed." in out


def test_tags_keep_every_check(cluster):
    rc, out, recap = run_site(cluster, {"rhdh_approval": "Sometimes"}, args=("--tags", "serverless"))
    assert rc != 0
    text = flat(out)
    assert "rhdh_approval" in text and "Sometimes" in text
    assert "TASK [parodos.orchestrator.serverless : Subscribe" not in text
    assert writes(cluster, dry_run=None) == []
