"""The simulated node of the real control plane: what the scheduler, the kubelets and a
storage provisioner would do, and nothing else.

- PersistentVolumeClaims of an existing StorageClass get a PersistentVolume made for
  them (pre-bound through ``claimRef``); the controller manager binds the two.
- Pods are bound to the first node (``pods/binding``, as the scheduler does) once their
  claims are Bound; after ``delays.workloads`` they are reported Running and Ready, or,
  for a Job's Pod, Succeeded (Failed for the Jobs in ``failing_jobs``). Pods of workloads
  marked never ready, and of operators whose package fails, stay Running and not Ready.
  The controller manager turns that into Deployment, StatefulSet and Job status.
- Pods being deleted are removed at once (the kubelet's last word on a Pod).
- A kubelet endpoint serves container logs (``kubectl logs``, ``pods/log``).
"""

from __future__ import annotations

import json

from tests.cluster.controllers.base import Controller, is_deleting, now_iso
from tests.cluster.controllers.workloads import pod_log
from tests.cluster.pki import HttpsServer

MANAGER = "kubelet"
POD_IP = "10.128.0.{}"


def _owner(obj: dict, kind: str) -> dict | None:
    return next((ref for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("kind") == kind), None)


def _summary(status: dict) -> tuple:
    """What a status change is about: phase, readiness, address and container states."""
    ready = next((c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    states = tuple((c.get("name"), c.get("ready"), tuple(c.get("state") or {}))
                   for c in status.get("containerStatuses") or [])
    return status.get("phase"), ready, status.get("podIP"), states


class Kubelet:
    """The HTTPS endpoint the API server reaches for ``pods/log``."""

    def __init__(self, store, config):
        self.store = store
        self.config = config
        self._server = HttpsServer(self._answer, "kubelet").start()

    def _answer(self, path: str) -> tuple[int, str, bytes]:
        parts = [p for p in path.split("?")[0].split("/") if p]
        if len(parts) >= 3 and parts[0] == "containerLogs":
            pod = self.store.try_get("v1", "Pod", parts[2], parts[1])
            if pod is not None:
                return 200, "text/plain", pod_log(self.config, pod).encode()
        return 404, "application/json", json.dumps({"message": "not found"}).encode()

    @property
    def port(self) -> int:
        return self._server.port

    def stop(self) -> None:
        self._server.stop()


class NodeController(Controller):
    name = "node"

    def __init__(self, store, config):
        super().__init__(store, config)
        self.kubelet = Kubelet(store, config)
        self._ips: dict[str, str] = {}
        self._owners: dict[str, tuple[str, dict]] = {}  # pod uid: (kind, workload), looked up once

    def stop(self) -> None:
        self.kubelet.stop()

    def reconcile(self, now: float) -> None:
        nodes = sorted(n["metadata"]["name"] for n in self._report_nodes())
        if not nodes:
            return
        classes = {sc["metadata"]["name"] for sc in self.store.list("storage.k8s.io/v1", "StorageClass")}
        claims = {}
        for pvc in self.store.list("v1", "PersistentVolumeClaim"):
            claims[(pvc["metadata"]["namespace"], pvc["metadata"]["name"])] = pvc
            self._provision(pvc, classes)
        for pod in self.store.list("v1", "Pod"):
            self._pod(pod, nodes[0], claims, now)

    def _report_nodes(self) -> list[dict]:
        """Nodes report the kubelet endpoint (address and port) like a kubelet does."""
        out = []
        for node in self.store.list("v1", "Node"):
            status = node.get("status") or {}
            addresses = [{"type": "InternalIP", "address": "127.0.0.1"},
                         {"type": "Hostname", "address": node["metadata"]["name"]}]
            endpoint = {"kubeletEndpoint": {"Port": self.kubelet.port}}
            if status.get("addresses") != addresses or status.get("daemonEndpoints") != endpoint:
                node = self.write_status(node, {**status, "addresses": addresses, "daemonEndpoints": endpoint},
                                         MANAGER) or node
            out.append(node)
        return out

    # ------------------------------------------------------------------ storage

    def _provision(self, pvc: dict, classes: set[str]) -> None:
        spec = pvc.get("spec") or {}
        meta = pvc["metadata"]
        if (pvc.get("status") or {}).get("phase") == "Bound" or spec.get("volumeName") or is_deleting(pvc):
            return
        sc = spec.get("storageClassName")
        if not sc or sc not in classes:
            return
        name = f"pvc-{meta['uid']}"
        if self.store.try_get("v1", "PersistentVolume", name) is not None:
            return
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        self.store.create({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": "csi.orchestrator.test"}},
            "spec": {"capacity": {"storage": size}, "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                     "storageClassName": sc, "persistentVolumeReclaimPolicy": "Delete",
                     "volumeMode": spec.get("volumeMode", "Filesystem"),
                     "hostPath": {"path": f"/var/lib/orchestrator-test/{name}"},
                     "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                                  "name": meta["name"], "uid": meta["uid"]}}}, manager=MANAGER)

    # ------------------------------------------------------------------ pods

    def _claims_bound(self, pod: dict, claims: dict) -> bool:
        ns = pod["metadata"]["namespace"]
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and ((claims.get((ns, claim)) or {}).get("status") or {}).get("phase") != "Bound":
                return False
        return True

    def _workload(self, pod: dict) -> tuple[str, dict | None]:
        """(kind, object) of what made the Pod: Deployment (through its ReplicaSet), StatefulSet or Job."""
        ns = pod["metadata"]["namespace"]
        for kind in ("StatefulSet", "Job"):
            ref = _owner(pod, kind)
            if ref:
                group = "apps/v1" if kind == "StatefulSet" else "batch/v1"
                return kind, self.store.try_get(group, kind, ref["name"], ns)
        ref = _owner(pod, "ReplicaSet")
        rs = self.store.try_get("apps/v1", "ReplicaSet", ref["name"], ns) if ref else None
        dep_ref = _owner(rs, "Deployment") if rs else None
        if dep_ref:
            return "Deployment", self.store.try_get("apps/v1", "Deployment", dep_ref["name"], ns)
        return "Pod", pod

    def _pod(self, pod: dict, node: str, claims: dict, now: float) -> None:
        meta = pod["metadata"]
        if is_deleting(pod):
            self._owners.pop(meta["uid"], None)
            try:
                self.store.delete("v1", "Pod", meta["name"], meta["namespace"], grace_period=0)
            except Exception as exc:  # gone already, or changed: the next pass looks again
                if getattr(exc, "code", None) not in (404, 409):
                    raise
            return
        spec = pod.get("spec") or {}
        if not spec.get("nodeName"):
            if self._claims_bound(pod, claims):
                self.store.bind(meta["name"], meta["namespace"], node)
            return
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            return
        if not self.elapsed(("Pod", meta["uid"]), now, self.config.delays.workloads):
            return
        kind, owner = self._owners.get(meta["uid"]) or self._workload(pod)
        if owner is not None:
            self._owners[meta["uid"]] = (kind, owner)
        if kind == "Job":
            job = meta.get("labels", {}).get("job-name") or (owner or {}).get("metadata", {}).get("name", "")
            state = "failed" if job in self.config.failing_jobs else "succeeded"
            if self.blocked("Job", owner):
                state = "running"
        else:
            state = "unready" if self.blocked(kind, owner) else "running"
        new = self.pod_status(pod, state, status)
        if _summary(new) != _summary(status):
            self.write_status(pod, new, MANAGER)

    def pod_status(self, pod: dict, state: str, old: dict) -> dict:
        uid = pod["metadata"]["uid"]
        ip = self._ips.setdefault(uid, POD_IP.format(len(self._ips) % 250 + 2))
        ts = now_iso()
        start = old.get("startTime") or ts
        containers = []
        for container in (pod.get("spec") or {}).get("containers") or []:
            if state in ("running", "unready"):
                cstate = {"running": {"startedAt": start}}
            else:
                code = 0 if state == "succeeded" else 1
                cstate = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                         "startedAt": start, "finishedAt": ts}}
            containers.append({"name": container.get("name", ""), "image": container.get("image", ""),
                               "imageID": "", "ready": state == "running", "started": state in ("running", "unready"),
                               "restartCount": 0, "state": cstate})
        ready = "True" if state == "running" else "False"
        conditions = [{"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": start}
                      for t, s in (("PodReadyToStartContainers", "True"), ("Initialized", "True"),
                                   ("Ready", ready), ("ContainersReady", ready), ("PodScheduled", "True"))]
        phase = {"running": "Running", "unready": "Running", "succeeded": "Succeeded", "failed": "Failed"}[state]
        return {"phase": phase, "conditions": conditions, "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
                "podIP": ip, "podIPs": [{"ip": ip}], "startTime": start, "containerStatuses": containers,
                "qosClass": old.get("qosClass", "BestEffort")}
