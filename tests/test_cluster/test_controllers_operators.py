"""Knative, SonataFlow and RHDH operator simulations."""

from __future__ import annotations

from tests.cluster.catalog import operator_catalog
from tests.cluster.crds import get_crd
from tests.test_cluster.test_controllers_manager import Sim, cond, status_of

KS_API = "operator.knative.dev/v1beta1"
SF_API = "sonataflow.org/v1alpha08"
BS_API = "rhdh.redhat.com/v1alpha1"


def with_operator(sim: Sim, package: str, namespace: str = "operators") -> None:
    """Register the package's CRDs and run its operator Deployment (no OLM needed)."""
    pkg = operator_catalog()[package]
    for crd in pkg.crds:
        if sim.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd) is None:
            sim.store.create(get_crd(crd, sim.config.crds_dir), manager="test")
    sim.namespace(namespace)
    name = pkg.deployments[0]
    sim.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
                "spec": {"selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": "manager", "image": "operator:1"}]}}}})
    sim.run(1)


def remove_operator(sim: Sim, package: str, namespace: str = "operators") -> None:
    sim.store.delete("apps/v1", "Deployment", operator_catalog()[package].deployments[0], namespace)


# ----------------------------------------------------------------------------------------- Knative
def knative(sim: Sim, kind: str = "KnativeServing", name: str = "knative-serving", ns: str = "knative-serving"):
    sim.namespace(ns)
    return sim.create({"apiVersion": KS_API, "kind": kind, "metadata": {"name": name, "namespace": ns},
                       "spec": {}})


def test_knative_serving_becomes_ready_after_delay_and_gets_finalizers():
    sim = Sim(controllers={"knative", "workloads"}, delays={"knative": 30})
    with_operator(sim, "serverless-operator")
    knative(sim)
    sim.run(2)
    ks = sim.get(KS_API, "KnativeServing", "knative-serving", "knative-serving")
    assert cond(ks, "Ready")["status"] == "Unknown"
    assert {c["type"] for c in status_of(ks)["conditions"]} == {
        "DependenciesInstalled", "DeploymentsAvailable", "InstallSucceeded", "VersionMigrationEligible", "Ready"}
    assert "knativeservings.operator.knative.dev" in ks["metadata"]["finalizers"]
    sim.run(2, advance=31)
    ks = sim.get(KS_API, "KnativeServing", "knative-serving", "knative-serving")
    assert cond(ks, "Ready")["status"] == "True"
    assert all(c["status"] == "True" for c in status_of(ks)["conditions"])
    assert status_of(ks)["observedGeneration"] == ks["metadata"]["generation"]
    assert status_of(ks)["version"]
    sim.store.delete(KS_API, "KnativeServing", "knative-serving", "knative-serving")
    sim.run(2)
    assert sim.get(KS_API, "KnativeServing", "knative-serving", "knative-serving") is None


def test_knative_in_wrong_namespace_and_never_ready():
    sim = Sim(controllers={"knative", "workloads"}, never_ready={"KnativeEventing"})
    with_operator(sim, "serverless-operator")
    knative(sim, "KnativeServing", "knative-serving", "elsewhere")
    knative(sim, "KnativeEventing", "knative-eventing", "knative-eventing")
    sim.run(3)
    ks = sim.get(KS_API, "KnativeServing", "knative-serving", "elsewhere")
    assert cond(ks, "InstallSucceeded")["reason"] == "Error"
    assert cond(ks, "Ready")["message"] == (
        'Install failed with message: Knative Serving must be installed into the namespace "knative-serving"')
    ke = sim.get(KS_API, "KnativeEventing", "knative-eventing", "knative-eventing")
    assert cond(ke, "Ready")["status"] == "False"
    assert cond(ke, "DeploymentsAvailable")["reason"] == "NotReady"
    assert cond(ke, "Ready")["message"].startswith("Waiting on deployments:")


def test_knative_resource_is_stuck_when_operator_removed_first():
    sim = Sim(controllers={"knative", "workloads"})
    with_operator(sim, "serverless-operator")
    knative(sim)
    sim.run(2)
    remove_operator(sim, "serverless-operator")
    sim.store.delete(KS_API, "KnativeServing", "knative-serving", "knative-serving")
    sim.run(3, advance=600)
    ks = sim.get(KS_API, "KnativeServing", "knative-serving", "knative-serving")
    assert ks is not None
    assert ks["metadata"]["deletionTimestamp"]
    assert ks["metadata"]["finalizers"]


def test_knative_waits_for_operator_to_be_available():
    sim = Sim(controllers={"knative"})
    with_operator(sim, "serverless-operator")  # no workloads controller: never Available
    knative(sim)
    sim.run(3)
    assert not status_of(sim.get(KS_API, "KnativeServing", "knative-serving", "knative-serving"))


# -------------------------------------------------------------------------------------- SonataFlow
def postgres(sim: Sim, ns: str = "sonataflow-infra", keys=("postgres-username", "postgres-password")) -> None:
    sim.namespace(ns)
    sim.create({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "sonataflow-psql-postgresql", "namespace": ns},
                "stringData": {k: "x" for k in keys}})
    sim.create({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "sonataflow-psql-postgresql", "namespace": ns},
                "spec": {"ports": [{"port": 5432}], "selector": {"app": "db"}}})


def platform(sim: Sim, name: str = "sonataflow-platform", ns: str = "sonataflow-infra",
             secret: str = "sonataflow-psql-postgresql", service: str = "sonataflow-psql-postgresql") -> dict:
    sim.namespace(ns)
    pg = {"postgresql": {"secretRef": {"name": secret, "userKey": "postgres-username",
                                       "passwordKey": "postgres-password"},
                         "serviceRef": {"name": service, "namespace": ns, "databaseName": "sonataflow"}}}
    return sim.create({"apiVersion": SF_API, "kind": "SonataFlowPlatform",
                       "metadata": {"name": name, "namespace": ns},
                       "spec": {"services": {"dataIndex": {"enabled": True, "persistence": pg},
                                             "jobService": {"enabled": True, "persistence": pg}}}})


def test_sonataflow_platform_succeeds_and_creates_services():
    sim = Sim(controllers={"sonataflow", "workloads", "garbage-collector"}, delays={"sonataflow": 10})
    with_operator(sim, "logic-operator-rhel8")
    postgres(sim)
    plat = platform(sim)
    sim.run(2)
    sfp = sim.get(SF_API, "SonataFlowPlatform", "sonataflow-platform", "sonataflow-infra")
    assert cond(sfp, "Succeed") == {**cond(sfp, "Succeed"), "status": "False", "reason": "Creating"}
    assert status_of(sfp)["cluster"] == "openshift"
    assert sim.get("apps/v1", "Deployment", "sonataflow-platform-data-index-service", "sonataflow-infra") is None
    sim.run(3, advance=11)
    sfp = sim.get(SF_API, "SonataFlowPlatform", "sonataflow-platform", "sonataflow-infra")
    assert cond(sfp, "Succeed")["status"] == "True" and "reason" not in cond(sfp, "Succeed")
    for svc in ("data-index-service", "jobs-service"):
        name = f"sonataflow-platform-{svc}"
        dep = sim.get("apps/v1", "Deployment", name, "sonataflow-infra")
        assert cond(dep, "Available")["status"] == "True"
        assert dep["metadata"]["labels"]["sonataflow.org/service"] == name
        assert dep["metadata"]["labels"]["app.kubernetes.io/name"] == svc
        assert dep["metadata"]["ownerReferences"][0]["uid"] == plat["metadata"]["uid"]
        service = sim.get("v1", "Service", name, "sonataflow-infra")
        assert service["spec"]["ports"][0]["port"] == 80
        env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["QUARKUS_DATASOURCE_USERNAME"]["valueFrom"]["secretKeyRef"]["key"] == "postgres-username"


def test_sonataflow_platform_fails_on_missing_secret_or_service_and_recovers():
    sim = Sim(controllers={"sonataflow", "workloads"})
    with_operator(sim, "logic-operator-rhel8")
    platform(sim)
    sim.run(2)
    sfp = sim.get(SF_API, "SonataFlowPlatform", "sonataflow-platform", "sonataflow-infra")
    assert cond(sfp, "Succeed")["reason"] == "Failure"
    assert 'secret "sonataflow-psql-postgresql" not found' in cond(sfp, "Succeed")["message"]
    sim.create({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "sonataflow-psql-postgresql", "namespace": "sonataflow-infra"},
                "stringData": {"postgres-username": "u", "postgres-password": "p"}})
    sim.run(2)
    sfp = sim.get(SF_API, "SonataFlowPlatform", "sonataflow-platform", "sonataflow-infra")
    assert 'service "sonataflow-psql-postgresql" not found' in cond(sfp, "Succeed")["message"]
    sim.create({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "sonataflow-psql-postgresql", "namespace": "sonataflow-infra"},
                "spec": {"ports": [{"port": 5432}]}})
    sim.run(2)
    sfp = sim.get(SF_API, "SonataFlowPlatform", "sonataflow-platform", "sonataflow-infra")
    assert cond(sfp, "Succeed")["status"] == "True"


def test_sonataflow_cluster_platform_and_duplicates():
    sim = Sim(controllers={"sonataflow", "workloads"}, never_ready={"SonataFlowPlatform/slow"})
    with_operator(sim, "logic-operator-rhel8")
    postgres(sim)
    platform(sim)
    cp = {"apiVersion": SF_API, "kind": "SonataFlowClusterPlatform", "metadata": {"name": "cluster-platform"},
          "spec": {"platformRef": {"name": "sonataflow-platform", "namespace": "sonataflow-infra"}}}
    sim.create(cp)
    sim.run(4)
    got = sim.get(SF_API, "SonataFlowClusterPlatform", "cluster-platform")
    assert cond(got, "Succeed")["status"] == "True"
    assert cond(got, "Succeed")["message"] == \
        "Referenced SonataFlowPlatform 'sonataflow-infra/sonataflow-platform' is ready"
    sim.create({**cp, "metadata": {"name": "second"}})
    missing = {**cp, "metadata": {"name": "third"}, "spec": {"platformRef": {"name": "x", "namespace": "y"}}}
    sim.create(missing)
    platform(sim, name="other")
    postgres(sim, ns="slow-ns")
    platform(sim, name="slow", ns="slow-ns")
    sim.run(3)
    assert cond(sim.get(SF_API, "SonataFlowClusterPlatform", "second"), "Succeed")["reason"] == "Duplicated"
    assert cond(sim.get(SF_API, "SonataFlowPlatform", "other", "sonataflow-infra"), "Succeed")["reason"] == \
        "Duplicated"
    assert cond(sim.get(SF_API, "SonataFlowPlatform", "slow", "slow-ns"), "Succeed")["status"] == "False"


# ------------------------------------------------------------------------------------------- RHDH
def backstage_inputs(sim: Sim, ns: str = "rhdh") -> None:
    sim.namespace(ns)
    for name in ("app-config-rhdh", "dynamic-plugins-rhdh"):
        sim.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
                    "data": {"file.yaml": "a: 1"}})
    sim.create({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "backstage-backend-auth-secret", "namespace": ns},
                "stringData": {"BACKEND_SECRET": "s"}})


def backstage(sim: Sim, ns: str = "rhdh", name: str = "backstage") -> dict:
    sim.namespace(ns)
    return sim.create({"apiVersion": BS_API, "kind": "Backstage", "metadata": {"name": name, "namespace": ns},
                       "spec": {"application": {
                           "appConfig": {"configMaps": [{"name": "app-config-rhdh"}]},
                           "dynamicPluginsConfigMapName": "dynamic-plugins-rhdh",
                           "extraEnvs": {"secrets": [{"name": "backstage-backend-auth-secret"}]},
                           "replicas": 1}}})


def deployed(sim: Sim, ns: str = "rhdh", name: str = "backstage") -> dict:
    return cond(sim.get(BS_API, "Backstage", name, ns), "Deployed")


def test_backstage_reports_missing_config_then_deploys():
    sim = Sim(profile="kubernetes", controllers={"rhdh", "workloads"})
    with_operator(sim, "rhdh")
    bs = backstage(sim)
    sim.run(1)
    assert deployed(sim)["reason"] in ("DeployInProgress", "DeployFailed")
    sim.run(2)
    assert deployed(sim)["reason"] == "DeployFailed"
    assert 'configmaps "app-config-rhdh" not found' in deployed(sim)["message"]
    backstage_inputs(sim)
    sim.run(4)
    assert deployed(sim)["status"] == "True" and deployed(sim)["reason"] == "Deployed"
    dep = sim.get("apps/v1", "Deployment", "backstage-backstage", "rhdh")
    assert dep["metadata"]["ownerReferences"][0]["uid"] == bs["metadata"]["uid"]
    assert sim.get("apps/v1", "StatefulSet", "backstage-psql-backstage", "rhdh") is not None
    assert sim.get("v1", "Secret", "backstage-psql-secret-backstage", "rhdh") is not None
    assert sim.get("v1", "Service", "backstage-backstage", "rhdh") is not None
    cm = sim.get("v1", "ConfigMap", "app-config-rhdh", "rhdh")
    assert cm["metadata"]["labels"]["rhdh.redhat.com/ext-config-sync"] == "true"
    assert cm["metadata"]["annotations"]["rhdh.redhat.com/backstage-name"] == "backstage"


def test_backstage_rolls_when_referenced_config_changes_only():
    sim = Sim(profile="kubernetes", controllers={"rhdh", "workloads"})
    with_operator(sim, "rhdh")
    backstage_inputs(sim)
    backstage(sim)
    sim.run(5)
    dep = sim.get("apps/v1", "Deployment", "backstage-backstage", "rhdh")
    first_hash = dep["spec"]["template"]["metadata"]["annotations"]["rhdh.redhat.com/ext-config-hash"]
    gen = dep["metadata"]["generation"]
    # an unchanged ConfigMap write changes nothing
    cm = sim.get("v1", "ConfigMap", "app-config-rhdh", "rhdh")
    sim.store.update(cm, manager="test")
    sim.run(3)
    assert sim.get("apps/v1", "Deployment", "backstage-backstage", "rhdh")["metadata"]["generation"] == gen
    cm["data"]["file.yaml"] = "a: 2"
    sim.store.update(cm, manager="test")
    sim.run(3)
    dep = sim.get("apps/v1", "Deployment", "backstage-backstage", "rhdh")
    assert dep["metadata"]["generation"] == gen + 1
    assert dep["spec"]["template"]["metadata"]["annotations"]["rhdh.redhat.com/ext-config-hash"] != first_hash


def test_backstage_never_ready_and_route_on_openshift():
    sim = Sim(controllers={"rhdh", "workloads"}, never_ready={"Backstage/backstage"})
    with_operator(sim, "rhdh")
    backstage_inputs(sim)
    backstage(sim)
    sim.run(5, advance=100)
    assert deployed(sim)["status"] == "False"
    assert deployed(sim)["message"]
    route = sim.get("route.openshift.io/v1", "Route", "backstage-backstage", "rhdh")
    assert route["spec"]["host"] == f"backstage-backstage-rhdh.{sim.config.cluster_domain}"


# ------------------------------------------------------------------------------ SonataFlow workflows
PG_BLOCK = {"secretRef": {"name": "sonataflow-psql-postgresql", "userKey": "postgres-username",
                          "passwordKey": "postgres-password"},
            "serviceRef": {"name": "sonataflow-psql-postgresql", "namespace": "sonataflow-infra", "port": 5432,
                           "databaseName": "sonataflow", "databaseSchema": "team-a"}}
FLOW = {"start": "hello", "states": [{"name": "hello", "type": "inject", "data": {}, "end": True}]}


def workflow(sim: Sim, ns: str, persistence=None, name: str = "greeting") -> dict:
    spec = {"flow": FLOW}
    if persistence is not None:
        spec["persistence"] = persistence
    return sim.create({"apiVersion": SF_API, "kind": "SonataFlow", "metadata": {"name": name, "namespace": ns},
                       "spec": spec})


def policy(sim: Sim, ns: str, peers: list, name: str = "only") -> None:
    sim.create({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": peers}]}})


def ready(sim: Sim, ns: str, name: str = "greeting") -> dict:
    return cond(sim.get(SF_API, "SonataFlow", name, ns), "Ready")


def test_workflow_ready_once_its_database_is_there_and_reachable():
    sim = Sim(controllers={"sonataflow", "workloads"})
    with_operator(sim, "logic-operator-rhel8")
    postgres(sim)
    sim.namespace("team-a")
    workflow(sim, "team-a", {"postgresql": PG_BLOCK})
    sim.run(3)
    assert ready(sim, "team-a")["status"] == "False"
    assert ready(sim, "team-a")["reason"] == "SecretNotFound"
    assert 'secret "sonataflow-psql-postgresql" not found in namespace "team-a"' in ready(sim, "team-a")["message"]
    assert sim.get("apps/v1", "Deployment", "greeting", "team-a") is None
    postgres(sim, "team-a")  # the Secret (and a Service nobody uses) in team-a
    # PostgreSQL's namespace admits only the namespaces labelled as workflow namespaces
    policy(sim, "sonataflow-infra", [{"namespaceSelector": {"matchLabels": {"rhdh.redhat.com/workflow-namespace": ""}}}])
    sim.run(3)
    assert ready(sim, "team-a")["reason"] == "DatabaseNotReachable"
    assert 'namespace "sonataflow-infra" do not admit namespace "team-a"' in ready(sim, "team-a")["message"]
    sim.store.patch("v1", "Namespace", "team-a", None, {"metadata": {"labels": {"rhdh.redhat.com/workflow-namespace": ""}}},
                    patch_type="merge", manager="test")
    sim.run(4)
    assert ready(sim, "team-a")["status"] == "True", ready(sim, "team-a")
    dep = sim.get("apps/v1", "Deployment", "greeting", "team-a")
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["QUARKUS_DATASOURCE_JDBC_URL"]["value"] == \
        "jdbc:postgresql://sonataflow-psql-postgresql.sonataflow-infra:5432/sonataflow?currentSchema=team-a"
    assert sim.get("v1", "Service", "greeting", "team-a")["spec"]["ports"][0]["port"] == 80
    # a policy in the workflow's namespace that does not admit Developer Hub
    sim.namespace("rhdh")
    sim.store.create(get_crd("backstages.rhdh.redhat.com", sim.config.crds_dir), manager="test")
    sim.create({"apiVersion": BS_API, "kind": "Backstage", "metadata": {"name": "backstage", "namespace": "rhdh"},
                "spec": {}})
    policy(sim, "team-a", [{"podSelector": {}}])
    sim.run(3)
    assert ready(sim, "team-a")["reason"] == "IngressNotAdmitted"
    assert 'do not admit namespace "rhdh" (Developer Hub)' in ready(sim, "team-a")["message"]
    policy(sim, "team-a", [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "rhdh"}}}],
           name="rhdh")
    sim.run(3)
    assert ready(sim, "team-a")["status"] == "True"


def test_workflow_without_persistence_uses_the_platforms_and_empty_persistence_none():
    sim = Sim(controllers={"sonataflow", "workloads"})
    with_operator(sim, "logic-operator-rhel8")
    sim.namespace("team-b")
    sim.create({"apiVersion": SF_API, "kind": "SonataFlowPlatform",
                "metadata": {"name": "sonataflow-platform", "namespace": "team-b"},
                "spec": {"persistence": {"postgresql": {**PG_BLOCK, "serviceRef": {
                    **PG_BLOCK["serviceRef"], "namespace": "team-b"}}}}})
    workflow(sim, "team-b")  # no spec.persistence: the platform's
    workflow(sim, "team-b", {}, name="ephemeral")  # spec.persistence: {}: none
    sim.run(3)
    assert ready(sim, "team-b")["reason"] == "SecretNotFound"
    assert "SonataFlowPlatform sonataflow-platform spec.persistence.postgresql.secretRef" in \
        ready(sim, "team-b")["message"]
    assert ready(sim, "team-b", "ephemeral")["status"] == "True"
    postgres(sim, "team-b")
    sim.run(4)
    assert ready(sim, "team-b")["status"] == "True"
    env = sim.get("apps/v1", "Deployment", "greeting", "team-b")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert any(e["name"] == "QUARKUS_DATASOURCE_JDBC_URL" and "sonataflow-psql-postgresql.team-b:5432" in e["value"]
               for e in env)
