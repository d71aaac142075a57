"""Deployments, StatefulSets and Jobs become ready (or complete) after a delay.

The status fields are the ones the real controllers write and that
kubernetes.core's waiter reads. No ReplicaSets are simulated, and Pods only
for Jobs: each Job gets one Pod (labels and owner as the Job controller sets
them) that succeeds, or fails when the Job's name is in ``failing_jobs``.
StatefulSet volume claims are created and bound to the default StorageClass;
without one they stay Pending and the StatefulSet never becomes ready.
"""

from __future__ import annotations

import copy
import hashlib
import json

from tests.cluster.controllers.base import Controller, is_deleting, now_iso, owner_ref

MANAGER_DEPLOY = "kube-controller-manager"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: dict, length: int = 10) -> str:
    """A stable pod-template hash written with the characters Kubernetes uses."""
    digest = hashlib.sha256(json.dumps(template or {}, sort_keys=True).encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:length])


def _cond(old: list[dict], ctype: str, status: str, reason: str, message: str, ts: str,
          *, update_key: str | None = "lastUpdateTime") -> dict:
    prev = next((c for c in old or [] if c.get("type") == ctype), None)
    cond = {"type": ctype, "status": status}
    if update_key:
        same_all = prev and (prev.get("status"), prev.get("reason"), prev.get("message")) == (status, reason,
                                                                                              message)
        cond[update_key] = prev.get(update_key, ts) if same_all else ts
    same_status = prev and prev.get("status") == status
    cond["lastTransitionTime"] = prev.get("lastTransitionTime", ts) if same_status else ts
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def deployment_status(dep: dict, state: str, ts: str) -> dict:
    """Status of a Deployment; ``state`` is "ready", "rolling" or "unavailable"."""
    spec = dep.get("spec") or {}
    replicas = spec.get("replicas", 1)
    old = (dep.get("status") or {}).get("conditions") or []
    rs = f'{dep["metadata"]["name"]}-{template_hash(spec.get("template"))}'
    status: dict = {"observedGeneration": dep["metadata"].get("generation", 1)}
    if state == "ready":
        if replicas:
            status.update(replicas=replicas, updatedReplicas=replicas, readyReplicas=replicas,
                          availableReplicas=replicas)
        available = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        progressing = ("True", "NewReplicaSetAvailable", f'ReplicaSet "{rs}" has successfully progressed.')
    elif state == "rolling":
        # a new ReplicaSet surges one pod while the old ones still serve
        status.update(replicas=replicas + 1, updatedReplicas=1, readyReplicas=replicas,
                      availableReplicas=replicas, unavailableReplicas=1)
        available = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        progressing = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs}" is progressing.')
    else:
        if replicas:
            status.update(replicas=replicas, updatedReplicas=replicas, unavailableReplicas=replicas)
        available = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        progressing = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs}" is progressing.')
    status["conditions"] = [_cond(old, "Available", *available, ts), _cond(old, "Progressing", *progressing, ts)]
    return status


def statefulset_status(sts: dict, ready: bool) -> dict:
    spec = sts.get("spec") or {}
    replicas = spec.get("replicas", 1)
    old = sts.get("status") or {}
    rev = f'{sts["metadata"]["name"]}-{template_hash(spec.get("template"))}'
    status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": replicas,
              "availableReplicas": 0, "updateRevision": rev, "collisionCount": 0}
    if ready:
        status.update(readyReplicas=replicas, currentReplicas=replicas, updatedReplicas=replicas,
                      availableReplicas=replicas, currentRevision=rev)
    elif old.get("currentRevision") and old.get("currentRevision") != rev and old.get("readyReplicas"):
        # rolling: the old revision still serves
        status.update(readyReplicas=old["readyReplicas"], currentReplicas=replicas,
                      availableReplicas=old.get("availableReplicas", 0), currentRevision=old["currentRevision"])
    else:
        status.update(currentReplicas=replicas, updatedReplicas=replicas, currentRevision=rev)
    for key in [k for k, v in status.items() if v == 0 and k not in ("replicas", "availableReplicas",
                                                                     "collisionCount")]:
        del status[key]
    return status


class WorkloadController(Controller):
    name = "workloads"

    def reconcile(self, now: float) -> None:
        ts = now_iso()
        delay = self.config.delays.workloads
        for dep in self.store.list("apps/v1", "Deployment"):
            self._deployment(dep, now, ts, delay)
        default_sc = self._default_storage_class()
        for sts in self.store.list("apps/v1", "StatefulSet"):
            self._statefulset(sts, now, delay, default_sc)
        for job in self.store.list("batch/v1", "Job"):
            self._job(job, now, ts, delay)

    def _deployment(self, dep: dict, now: float, ts: str, delay: float) -> None:
        meta = dep["metadata"]
        if is_deleting(dep) or (dep.get("spec") or {}).get("paused"):
            return
        if (meta.get("labels") or {}).get("olm.owner.kind") == "ClusterServiceVersion":
            return  # operator Deployments follow their CSV's install (olm controller)
        key = ("Deployment", meta["uid"], meta.get("generation"))
        due = self.elapsed(key, now, delay)
        old = dep.get("status") or {}
        available = any(c.get("type") == "Available" and c.get("status") == "True"
                        for c in old.get("conditions") or [])
        settled = (available and old.get("observedGeneration") == meta.get("generation")
                   and not old.get("unavailableReplicas"))
        if self.blocked("Deployment", dep):
            state = "unavailable"
        elif due or settled:
            state = "ready"
        else:
            state = "rolling" if available else "unavailable"
        self.write_status(dep, deployment_status(dep, state, ts), MANAGER_DEPLOY)

    # -- StatefulSets --------------------------------------------------------
    def _default_storage_class(self) -> str | None:
        for sc in self.store.list("storage.k8s.io/v1", "StorageClass"):
            ann = sc["metadata"].get("annotations") or {}
            if ann.get("storageclass.kubernetes.io/is-default-class") == "true":
                return sc["metadata"]["name"]
        return None

    def _claims_bound(self, sts: dict, default_sc: str | None) -> bool:
        """Create the StatefulSet's claims; True when all are Bound."""
        spec = sts.get("spec") or {}
        meta = sts["metadata"]
        ns = meta["namespace"]
        bound = True
        for tpl in spec.get("volumeClaimTemplates") or []:
            for i in range(spec.get("replicas", 1)):
                name = f'{tpl["metadata"]["name"]}-{meta["name"]}-{i}'
                pvc = self.store.try_get("v1", "PersistentVolumeClaim", name, ns)
                if pvc is None:
                    pvc_spec = dict(tpl.get("spec") or {})
                    if not pvc_spec.get("storageClassName") and default_sc:
                        pvc_spec["storageClassName"] = default_sc
                    pvc_spec.setdefault("volumeMode", "Filesystem")
                    labels = dict(((spec.get("selector") or {}).get("matchLabels")) or {})
                    pvc = self.store.create({
                        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": name, "namespace": ns, "labels": labels},
                        "spec": pvc_spec}, manager="kube-controller-manager")
                if (pvc.get("status") or {}).get("phase") != "Bound":
                    sc_name = (pvc.get("spec") or {}).get("storageClassName")
                    if sc_name and self.store.try_get("storage.k8s.io/v1", "StorageClass", sc_name):
                        pvc_spec = pvc.get("spec") or {}
                        size = ((pvc_spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
                        self.write_status(pvc, {"phase": "Bound",
                                                "accessModes": pvc_spec.get("accessModes", ["ReadWriteOnce"]),
                                                "capacity": {"storage": size}}, "kube-controller-manager")
                    else:
                        if (pvc.get("status") or {}).get("phase") != "Pending":
                            self.write_status(pvc, {"phase": "Pending"}, "kube-controller-manager")
                        bound = False
        return bound

    def _statefulset(self, sts: dict, now: float, delay: float, default_sc: str | None) -> None:
        meta = sts["metadata"]
        if is_deleting(sts):
            return
        key = ("StatefulSet", meta["uid"], meta.get("generation"))
        bound = self._claims_bound(sts, default_sc)
        due = self.elapsed(key, now, delay)
        old = sts.get("status") or {}
        settled = (old.get("observedGeneration") == meta.get("generation")
                   and old.get("currentRevision") == old.get("updateRevision")
                   and old.get("readyReplicas", 0) == (sts.get("spec") or {}).get("replicas", 1))
        ready = bound and not self.blocked("StatefulSet", sts) and (due or settled)
        self.write_status(sts, statefulset_status(sts, ready), MANAGER_DEPLOY)

    # -- Jobs ------------------------------------------------------------------
    def _job_pod(self, job: dict) -> dict | None:
        """The Job's one Pod, created on first sight with the labels and owner the Job controller sets."""
        meta = job["metadata"]
        name = f'{meta["name"]}-{template_hash({"uid": meta["uid"]}, 5)}'
        pod = self.store.try_get("v1", "Pod", name, meta["namespace"])
        if pod is not None:
            return pod
        template = (job.get("spec") or {}).get("template") or {}
        tmeta = template.get("metadata") or {}
        labels = {**(tmeta.get("labels") or {}), **job_pod_labels(job)}
        try:
            return self.store.create({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": meta["namespace"], "labels": labels,
                             "annotations": dict(tmeta.get("annotations") or {}),
                             "ownerReferences": [owner_ref(job)]},
                "spec": copy.deepcopy(template.get("spec") or {})}, manager=MANAGER_DEPLOY)
        except Exception as exc:  # lost a race with a delete or another pass: next pass retries
            if getattr(exc, "code", None) in (404, 409):
                return None
            raise

    def _job(self, job: dict, now: float, ts: str, delay: float) -> None:
        meta = job["metadata"]
        spec = job.get("spec") or {}
        old = job.get("status") or {}
        if is_deleting(job) or spec.get("suspend"):
            return
        pod = self._job_pod(job)
        if old.get("completionTime") or job_failed(job):
            state = "failed" if job_failed(job) else "succeeded"
        else:
            key = ("Job", meta["uid"])
            self.since(key, now)
            start = old.get("startTime", ts)
            if not self.blocked("Job", job) and self.elapsed(key, now, delay):
                state = "failed" if meta["name"] in self.config.failing_jobs else "succeeded"
                status = job_status(job, state, start, ts, self.config.kubernetes_version)
            else:
                state = "running"
                status = job_status(job, state, start, ts, self.config.kubernetes_version)
                if old.get("active") == 1:
                    status = old
            job = self.write_status(job, status, MANAGER_DEPLOY)
            if job is None:
                return
        if pod is not None:
            self.write_status(pod, pod_status(pod, state, job.get("status") or {}), "kubelet")


def job_pod_labels(job: dict) -> dict:
    """Labels the Job controller puts on its Pods (legacy and batch.kubernetes.io/ forms)."""
    meta = job["metadata"]
    return {"controller-uid": meta["uid"], "batch.kubernetes.io/controller-uid": meta["uid"],
            "job-name": meta["name"], "batch.kubernetes.io/job-name": meta["name"]}


def job_failed(job: dict) -> bool:
    return any(c.get("type") == "Failed" and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


def job_status(job: dict, state: str, start: str, ts: str, kubernetes_version: str) -> dict:
    """Status of a Job; ``state`` is "running", "succeeded" or "failed" (backoffLimit reached)."""
    status = {"startTime": start, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}
    if state == "running":
        status["active"] = 1
        return status
    minor = int((kubernetes_version.split(".") + ["0"])[1] or 0)
    if state == "failed":
        reason, message = "BackoffLimitExceeded", "Job has reached the specified backoff limit"
        status["failed"] = 1
        types = ["FailureTarget", "Failed"] if minor >= 31 else ["Failed"]
    else:
        reason, message = "CompletionsReached", "Reached expected number of succeeded pods"
        status["completionTime"] = ts
        status["succeeded"] = (job.get("spec") or {}).get("completions", 1)
        types = ["SuccessCriteriaMet", "Complete"] if minor >= 31 else ["Complete"]
    status["conditions"] = []
    for ctype in types:
        cond = {"type": ctype, "status": "True", "lastProbeTime": ts, "lastTransitionTime": ts}
        if minor >= 31 or state == "failed":
            cond.update(reason=reason, message=message)
        status["conditions"].append(cond)
    return status


def pod_status(pod: dict, state: str, job_status_: dict) -> dict:
    """Status of a Job's Pod, with times taken from the Job's status so that it stays stable."""
    start = job_status_.get("startTime") or now_iso()
    end = job_status_.get("completionTime") or next(
        (c.get("lastTransitionTime") for c in job_status_.get("conditions") or []), start)
    statuses = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        if state == "running":
            cstate = {"running": {"startedAt": start}}
        else:
            code = 0 if state == "succeeded" else 1
            cstate = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                     "startedAt": start, "finishedAt": end}}
        statuses.append({"name": container.get("name", ""), "image": container.get("image", ""), "imageID": "",
                         "ready": state == "running", "started": state == "running", "restartCount": 0,
                         "state": cstate})
    phase = {"running": "Running", "succeeded": "Succeeded", "failed": "Failed"}[state]
    return {"phase": phase, "startTime": start, "containerStatuses": statuses}


def pod_log(config, pod: dict) -> str:
    """The log of a Pod: a finished Job Pod logs ``job_log``, or ``failing_job_log`` when its Job fails."""
    labels = pod["metadata"].get("labels") or {}
    phase = (pod.get("status") or {}).get("phase")
    if "job-name" not in labels or phase not in ("Succeeded", "Failed"):
        return ""
    return config.failing_job_log if phase == "Failed" else config.job_log
