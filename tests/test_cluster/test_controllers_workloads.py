"""Deployments, StatefulSets and Jobs, and the ServiceAccount controller."""

from __future__ import annotations

import base64

from tests.test_cluster.test_controllers_manager import Sim, cond, status_of


def deployment(name: str, ns: str = "default", replicas: int | None = None, image: str = "nginx:1") -> dict:
    spec = {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "c", "image": image}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def statefulset(name: str, ns: str = "default", claim: bool = False) -> dict:
    spec = {"serviceName": name, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "db", "image": "postgres:15"}]}}}
    if claim:
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def waiter_deployment_ready(dep: dict) -> bool:
    """kubernetes.core's deployment predicate."""
    st = dep.get("status")
    return bool(st) and dep["spec"]["replicas"] == (st.get("replicas") or 0) and \
        st.get("availableReplicas") == st.get("replicas") and \
        st.get("observedGeneration") == dep["metadata"]["generation"] and not st.get("unavailableReplicas")


def waiter_statefulset_ready(sts: dict) -> bool:
    st, spec = sts.get("status") or {}, sts["spec"]
    return spec["updateStrategy"]["type"] == "RollingUpdate" and \
        st.get("observedGeneration") == sts["metadata"]["generation"] and \
        st.get("updateRevision") == st.get("currentRevision") and \
        (st.get("updatedReplicas") or 0) == spec["replicas"] and \
        (st.get("readyReplicas") or 0) == spec["replicas"] and st.get("replicas") == spec["replicas"]


def test_deployment_becomes_ready_after_delay_and_rolls_on_spec_change():
    sim = Sim(controllers={"workloads"}, delays={"workloads": 10})
    sim.create(deployment("web"))
    sim.run(2)
    dep = sim.get("apps/v1", "Deployment", "web", "default")
    assert not waiter_deployment_ready(dep)
    assert cond(dep, "Available")["reason"] == "MinimumReplicasUnavailable"
    assert status_of(dep)["unavailableReplicas"] == 1
    sim.run(2, advance=11)
    dep = sim.get("apps/v1", "Deployment", "web", "default")
    assert waiter_deployment_ready(dep)
    assert cond(dep, "Available")["reason"] == "MinimumReplicasAvailable"
    assert cond(dep, "Progressing")["reason"] == "NewReplicaSetAvailable"
    rv = dep["metadata"]["resourceVersion"]
    sim.run(2, advance=1)
    assert sim.get("apps/v1", "Deployment", "web", "default")["metadata"]["resourceVersion"] == rv

    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    sim.store.update(dep, manager="test")
    sim.run(2)
    dep = sim.get("apps/v1", "Deployment", "web", "default")
    assert dep["metadata"]["generation"] == 2
    assert not waiter_deployment_ready(dep)
    assert cond(dep, "Progressing")["reason"] == "ReplicaSetUpdated"
    sim.run(2, advance=11)
    assert waiter_deployment_ready(sim.get("apps/v1", "Deployment", "web", "default"))


def test_zero_replicas_and_never_ready():
    sim = Sim(controllers={"workloads"}, never_ready={"Deployment/stuck"})
    sim.create(deployment("idle", replicas=0))
    sim.create(deployment("stuck"))
    sim.run(3, advance=100)
    idle = sim.get("apps/v1", "Deployment", "idle", "default")
    assert waiter_deployment_ready(idle) and "replicas" not in idle["status"]
    stuck = sim.get("apps/v1", "Deployment", "stuck", "default")
    assert not waiter_deployment_ready(stuck)
    assert cond(stuck, "Available")["status"] == "False"


def test_statefulset_with_claims_binds_to_default_class():
    sim = Sim(controllers={"workloads"}, delays={"workloads": 5})
    sim.create(statefulset("db", claim=True))
    sim.run(2)
    assert not waiter_statefulset_ready(sim.get("apps/v1", "StatefulSet", "db", "default"))
    pvc = sim.get("v1", "PersistentVolumeClaim", "data-db-0", "default")
    assert pvc["spec"]["storageClassName"] == "standard"
    assert pvc["status"]["phase"] == "Bound"
    sim.run(2, advance=6)
    sts = sim.get("apps/v1", "StatefulSet", "db", "default")
    assert waiter_statefulset_ready(sts)
    sim.store.delete("apps/v1", "StatefulSet", "db", "default")
    assert sim.get("v1", "PersistentVolumeClaim", "data-db-0", "default") is not None


def test_statefulset_without_default_storage_class_never_becomes_ready():
    sim = Sim(controllers={"workloads"}, default_storage_class=False)
    sim.create(statefulset("db", claim=True))
    sim.create(statefulset("plain"))
    sim.run(3, advance=100)
    assert not waiter_statefulset_ready(sim.get("apps/v1", "StatefulSet", "db", "default"))
    assert sim.get("v1", "PersistentVolumeClaim", "data-db-0", "default")["status"]["phase"] == "Pending"
    assert waiter_statefulset_ready(sim.get("apps/v1", "StatefulSet", "plain", "default"))


def test_job_completes():
    sim = Sim(controllers={"workloads"}, delays={"workloads": 3})
    sim.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once", "namespace": "default"},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                                               "containers": [{"name": "c", "image": "busybox"}]}}}})
    sim.run(2)
    job = sim.get("batch/v1", "Job", "once", "default")
    assert job["status"]["active"] == 1 and not cond(job, "Complete")
    sim.run(2, advance=4)
    job = sim.get("batch/v1", "Job", "once", "default")
    assert job["status"]["succeeded"] == 1
    assert cond(job, "Complete")["status"] == "True"
    assert job["status"]["completionTime"]


def test_serviceaccount_controller_fills_namespaces_and_tokens():
    sim = Sim(controllers={"serviceaccount"})
    sim.namespace("orchestrator")
    sim.run(1)
    assert sim.get("v1", "ServiceAccount", "default", "orchestrator") is not None
    ca = sim.get("v1", "ConfigMap", "kube-root-ca.crt", "orchestrator")
    assert ca["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    assert "kubernetes.io/description" in ca["metadata"]["annotations"]
    sim.store.delete("v1", "ConfigMap", "kube-root-ca.crt", "orchestrator")
    sim.run(1)
    assert sim.get("v1", "ConfigMap", "kube-root-ca.crt", "orchestrator") is not None

    sa = sim.create({"apiVersion": "v1", "kind": "ServiceAccount",
                     "metadata": {"name": "orchestrator", "namespace": "orchestrator"}})
    sim.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                "metadata": {"name": "orchestrator-token", "namespace": "orchestrator",
                             "annotations": {"kubernetes.io/service-account.name": "orchestrator"}}})
    sim.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                "metadata": {"name": "orphan-token", "namespace": "orchestrator",
                             "annotations": {"kubernetes.io/service-account.name": "missing"}}})
    sim.run(1)
    secret = sim.get("v1", "Secret", "orchestrator-token", "orchestrator")
    assert secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == sa["metadata"]["uid"]
    assert base64.b64decode(secret["data"]["namespace"]).decode() == "orchestrator"
    assert base64.b64decode(secret["data"]["token"]).decode().count(".") == 2
    assert "ca.crt" in secret["data"]
    assert sim.get("v1", "Secret", "orphan-token", "orchestrator") is None
    rv = secret["metadata"]["resourceVersion"]
    sim.run(2)
    assert sim.get("v1", "Secret", "orchestrator-token", "orchestrator")["metadata"]["resourceVersion"] == rv
