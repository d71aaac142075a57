"""The OpenShift GitOps and OpenShift Pipelines operators, as far as the Orchestrator needs them.

OLM registers their CRDs from the catalog when it installs them (argocds/appprojects.argoproj.io, and
tasks/pipelines.tekton.dev). While the GitOps operator's Deployment is Available, every ArgoCD instance gets
what the user-made one of the gitops profile has (``argocd_objects``): its ``<instance>-server`` Service
and Route, its ``<instance>-cluster`` Secret with ``admin.password``, and ``status.phase: Available``.
While the Pipelines operator runs, the ``openshift-pipelines`` namespace holds the ``buildah`` Task that
the pipeline takes through the cluster resolver.
"""

from __future__ import annotations

import base64
import copy

from tests.cluster.controllers.base import Controller, is_deleting, now_iso, owner_ref

GITOPS_DEPLOYMENT = "openshift-gitops-operator-controller-manager"
PIPELINES_DEPLOYMENTS = ("openshift-pipelines-operator", "tekton-operator-webhook")
PIPELINES_NAMESPACE = "openshift-pipelines"
ADMIN_PASSWORD = b"argocd-admin-password"


def argocd_objects(argocd: dict, config, with_route: bool, now: str) -> tuple[list[dict], dict]:
    """(Secret, Service and Route of an ArgoCD instance, its status), owned by it; ``now`` dates the Route."""
    meta = argocd["metadata"]
    ns, inst = meta["namespace"], meta["name"]
    labels = {"app.kubernetes.io/managed-by": inst, "app.kubernetes.io/part-of": "argocd"}
    owner = [owner_ref(argocd)]
    host = f"{inst}-server-{ns}.{config.cluster_domain}"
    objects = [
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": f"{inst}-cluster", "namespace": ns, "ownerReferences": owner,
                      "labels": {**labels, "app.kubernetes.io/name": f"{inst}-cluster"}},
         "data": {"admin.password": base64.b64encode(ADMIN_PASSWORD).decode()}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": f"{inst}-server", "namespace": ns, "ownerReferences": owner,
                      "labels": {**labels, "app.kubernetes.io/name": f"{inst}-server"}},
         "spec": {"selector": {"app.kubernetes.io/name": f"{inst}-server"},
                  "ports": [{"name": "http", "port": 80, "targetPort": 8080},
                            {"name": "https", "port": 443, "targetPort": 8080}]}},
    ]
    if with_route:
        objects.append({
            "apiVersion": "route.openshift.io/v1", "kind": "Route",
            "metadata": {"name": f"{inst}-server", "namespace": ns, "ownerReferences": owner,
                         "labels": {**labels, "app.kubernetes.io/name": f"{inst}-server"}},
            "spec": {"host": host, "to": {"kind": "Service", "name": f"{inst}-server", "weight": 100},
                     "port": {"targetPort": "https"},
                     "tls": {"termination": "passthrough", "insecureEdgeTerminationPolicy": "Redirect"},
                     "wildcardPolicy": "None"},
            "status": {"ingress": [{"host": host, "routerName": "default", "wildcardPolicy": "None",
                                    "routerCanonicalHostname": f"router-default.{config.cluster_domain}",
                                    "conditions": [{"type": "Admitted", "status": "True",
                                                   "lastTransitionTime": now}]}]},
        })
    status = {"phase": "Available", "server": "Running", "repo": "Running", "redis": "Running",
              "applicationController": "Running", "sso": "Unknown", "host": host}
    return objects, status


def buildah_task() -> dict:
    """The buildah Task of OpenShift Pipelines (the parameters and workspaces the pipeline binds)."""
    params = [("IMAGE", None), ("DOCKERFILE", "./Dockerfile"), ("CONTEXT", "."), ("BUILD_EXTRA_ARGS", ""),
              ("PUSH_EXTRA_ARGS", ""), ("TLS_VERIFY", "true"),
              ("BUILDER_IMAGE", "registry.redhat.io/rhel8/buildah@sha256:" + "0" * 64)]
    return {
        "apiVersion": "tekton.dev/v1", "kind": "Task",
        "metadata": {"name": "buildah", "namespace": PIPELINES_NAMESPACE,
                     "labels": {"app.kubernetes.io/version": "0.5", "operator.tekton.dev/provider-type": "redhat"}},
        "spec": {
            "description": "Buildah task builds source into a container image and then pushes it to a registry.",
            "params": [dict({"name": name, "type": "string"}, **({} if default is None else {"default": default}))
                       for name, default in params],
            "results": [{"name": "IMAGE_DIGEST"}, {"name": "IMAGE_URL"}],
            "workspaces": [{"name": "source"}, {"name": "dockerconfig", "optional": True}],
            "steps": [{"name": "build", "image": "$(params.BUILDER_IMAGE)", "workingDir": "$(workspaces.source.path)",
                       "script": "buildah bud $(params.BUILD_EXTRA_ARGS) -f $(params.DOCKERFILE) -t $(params.IMAGE) "
                                 "$(params.CONTEXT)\nbuildah push $(params.PUSH_EXTRA_ARGS) $(params.IMAGE)\n",
                       "securityContext": {"capabilities": {"add": ["SETFCAP"]}}}],
        },
    }


class GitOpsController(Controller):
    name = "gitops"
    manager = "gitops-operator"

    def reconcile(self, now: float) -> None:
        if self.operator_running(GITOPS_DEPLOYMENT):
            api = self.served("argoproj.io", "ArgoCD")
            for argocd in self.store.list(api, "ArgoCD") if api else []:
                if not is_deleting(argocd):
                    self._instance(argocd)
        if any(self.operator_running(name) for name in PIPELINES_DEPLOYMENTS):
            self._pipelines()

    def _create(self, obj: dict) -> dict | None:
        meta = obj["metadata"]
        current = self.store.try_get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        if current is not None:
            return current
        status = obj.pop("status", None)
        try:
            created = self.store.create(obj, manager=self.manager)
        except Exception as exc:  # a namespace being deleted, a race: the next pass tries again
            if getattr(exc, "code", None) in (403, 404, 409):
                return None
            raise
        if status is not None:
            self.write_status(created, status, self.manager)
        return created

    def _instance(self, argocd: dict) -> None:
        objects, status = argocd_objects(argocd, self.config, self.config.profile == "openshift", now_iso())
        for obj in objects:
            self._create(copy.deepcopy(obj))
        self.write_status(argocd, status, self.manager)

    def _pipelines(self) -> None:
        if self.store.try_get("v1", "Namespace", PIPELINES_NAMESPACE) is None:
            self._create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PIPELINES_NAMESPACE}})
        if self.served("tekton.dev", "Task"):
            self._create(buildah_task())
