"""The operators the collection installs: Knative, SonataFlow (Serverless Logic) and RHDH.

Each acts only while its operator Deployment exists and is Available, so a
custom resource whose operator was removed first stays as it is (a Knative
resource being deleted keeps its finalizers, as on a real cluster).
"""

from __future__ import annotations

import copy
import hashlib
import json

from tests.cluster.controllers.base import (
    Controller,
    deployment_available,
    is_deleting,
    now_iso,
    owner_ref,
    set_condition,
)

KNATIVE_GROUP = "operator.knative.dev"
SONATAFLOW_GROUP = "sonataflow.org"
RHDH_GROUP = "rhdh.redhat.com"


class OperatorController(Controller):
    """Shared helpers: operator gating and idempotent writes of owned objects."""

    operator_deployments: tuple[str, ...] = ()
    manager = "operator"

    def __init__(self, store, config):
        super().__init__(store, config)
        self._applied: dict[tuple, tuple] = {}

    def running(self) -> bool:
        return any(self.operator_running(name) for name in self.operator_deployments)

    def ensure(self, desired: dict, *, create_only: bool = False) -> dict | None:
        """Create ``desired`` or bring the live object back to it (labels/annotations merged)."""
        meta = desired["metadata"]
        key = (desired["apiVersion"], desired["kind"], meta.get("namespace"), meta["name"])
        fingerprint = json.dumps(desired, sort_keys=True)
        cur = self.store.try_get(desired["apiVersion"], desired["kind"], meta["name"], meta.get("namespace"))
        try:
            if cur is None:
                cur = self.store.create(desired, manager=self.manager)
            elif create_only:
                return cur
            elif self._applied.get(key) != (fingerprint, cur["metadata"].get("generation"), cur["metadata"]["uid"]):
                new = copy.deepcopy(cur)
                nmeta = new["metadata"]
                nmeta["labels"] = {**(nmeta.get("labels") or {}), **(meta.get("labels") or {})}
                nmeta["annotations"] = {**(nmeta.get("annotations") or {}), **(meta.get("annotations") or {})}
                if not nmeta["annotations"]:
                    del nmeta["annotations"]
                if meta.get("ownerReferences"):
                    nmeta["ownerReferences"] = meta["ownerReferences"]
                for k, v in desired.items():
                    if k not in ("apiVersion", "kind", "metadata", "status"):
                        new[k] = copy.deepcopy(v)
                if desired["kind"] == "Service":
                    for ip_key in ("clusterIP", "clusterIPs"):
                        if ip_key in (cur.get("spec") or {}):
                            new["spec"][ip_key] = cur["spec"][ip_key]
                cur = self.store.update(new, manager=self.manager)
        except Exception as exc:
            if getattr(exc, "code", None) in (403, 404, 409):
                return None
            raise
        self._applied[key] = (fingerprint, cur["metadata"].get("generation"), cur["metadata"]["uid"])
        return cur

    def set_finalizers(self, obj: dict, finalizers: list[str]) -> dict:
        meta = obj["metadata"]
        if meta.get("finalizers") == finalizers:
            return obj
        try:
            return self.store.patch(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"),
                                    {"metadata": {"finalizers": finalizers or None}}, patch_type="merge",
                                    manager=self.manager)
        except Exception as exc:
            if getattr(exc, "code", None) in (404, 409, 422):
                return obj
            raise


def _svc_condition(conditions: list[dict], ctype: str, status: str, reason: str, message: str, ts: str) -> list:
    """A SonataFlow condition: type, status, lastUpdateTime, reason, message; sorted by type."""
    old = next((c for c in conditions if c.get("type") == ctype), None)
    new = {"type": ctype, "status": status}
    if reason:
        new["reason"] = reason
    if message:
        new["message"] = message
    if old and all(old.get(k) == new.get(k) for k in ("status", "reason", "message")):
        new["lastUpdateTime"] = old.get("lastUpdateTime", ts)
    else:
        new["lastUpdateTime"] = ts
    out = [c for c in conditions if c.get("type") != ctype] + [new]
    return sorted(out, key=lambda c: c["type"])


# ----------------------------------------------------------------------------------------- Knative
class KnativeController(OperatorController):
    name = "knative"
    manager = "knative-operator"
    operator_deployments = ("knative-openshift", "knative-operator")
    CONDITIONS = ("DependenciesInstalled", "DeploymentsAvailable", "InstallSucceeded", "VersionMigrationEligible")
    KINDS = (("KnativeServing", "knative-serving", "Knative Serving",
              "activator, autoscaler, autoscaler-hpa, controller, webhook"),
             ("KnativeEventing", "knative-eventing", "Knative Eventing",
              "eventing-controller, eventing-webhook, imc-controller, imc-dispatcher"))
    VERSION = "1.15.0"

    def reconcile(self, now: float) -> None:
        api = self.served(KNATIVE_GROUP, "KnativeServing") or self.served(KNATIVE_GROUP, "KnativeEventing")
        if not api or not self.running():
            return
        ts = now_iso()
        for kind, required_ns, title, deployments in self.KINDS:
            api = self.served(KNATIVE_GROUP, kind)
            if not api:
                continue
            for cr in self.store.list(api, kind):
                self._one(cr, kind, required_ns, title, deployments, now, ts)

    def _one(self, cr: dict, kind: str, required_ns: str, title: str, deployments: str, now: float,
             ts: str) -> None:
        meta = cr["metadata"]
        ours = [f"{kind.lower()}s.{KNATIVE_GROUP}"]
        if self.config.profile == "openshift":
            ours.append(f"{required_ns}-openshift")
        if is_deleting(cr):
            for fin in ours:
                if fin in (meta.get("finalizers") or []):
                    self.store.remove_finalizer(cr["apiVersion"], kind, meta["name"], meta["namespace"], fin,
                                                manager=self.manager)
            return
        wanted = list(meta.get("finalizers") or []) + [f for f in ours if f not in (meta.get("finalizers") or [])]
        cr = self.set_finalizers(cr, wanted)
        meta = cr["metadata"]
        status = copy.deepcopy(cr.get("status") or {})
        conds = status.get("conditions") or []
        states = {c: ("Unknown", "", "") for c in self.CONDITIONS}
        ready = ("Unknown", "", "")
        if self.config.profile == "openshift" and meta["namespace"] != required_ns:
            msg = f'Install failed with message: {title} must be installed into the namespace "{required_ns}"'
            states["InstallSucceeded"] = ready = ("False", "Error", msg)
        elif self.never_ready(kind, meta["name"]):
            msg = f"Waiting on deployments: {deployments}"
            states = {c: ("True", "", "") for c in self.CONDITIONS}
            states["DeploymentsAvailable"] = ready = ("False", "NotReady", msg)
        elif self.elapsed((meta["uid"],), now, self.config.delays.knative):
            states = {c: ("True", "", "") for c in self.CONDITIONS}
            ready = ("True", "", "")
            status["version"] = self.VERSION
        for ctype, (st, reason, message) in list(states.items()) + [("Ready", ready)]:
            conds = set_condition(conds, {"type": ctype, "status": st, "reason": reason or None,
                                          "message": message or None}, ts)
        status["conditions"] = conds
        status["observedGeneration"] = meta.get("generation", 1)
        self.write_status(cr, status, self.manager)


# -------------------------------------------------------------------------------------- SonataFlow
class SonataFlowController(OperatorController):
    name = "sonataflow"
    manager = "sonataflow-operator"
    operator_deployments = ("logic-operator-rhel8-controller-manager", "sonataflow-operator-controller-manager")
    SERVICES = (("dataIndex", "data-index-service", "logic-data-index-postgresql-rhel8"),
                ("jobService", "jobs-service", "logic-jobs-service-postgresql-rhel8"))
    VERSION = "0.8"

    def reconcile(self, now: float) -> None:
        api = self.served(SONATAFLOW_GROUP, "SonataFlowPlatform")
        if not api or not self.running():
            return
        ts = now_iso()
        platforms = self.store.list(api, "SonataFlowPlatform")
        for platform in platforms:
            if not is_deleting(platform):
                self._platform(platform, platforms, now, ts)
        capi = self.served(SONATAFLOW_GROUP, "SonataFlowClusterPlatform")
        clusters = self.store.list(capi, "SonataFlowClusterPlatform") if capi else []
        for cp in clusters:
            if not is_deleting(cp):
                self._cluster_platform(cp, clusters, api, ts)
        wapi = self.served(SONATAFLOW_GROUP, "SonataFlow")
        if wapi:
            for workflow in self.store.list(wapi, "SonataFlow"):
                if not is_deleting(workflow):
                    self._workflow(workflow, platforms, clusters, ts)

    # -- workflows (SonataFlow) ------------------------------------------------------------------
    #
    # A SonataFlow is deployed (a Deployment and a Service named after it, in its namespace) once what its
    # persistence names exists and can be reached, and it is Ready once that Deployment is Available; until
    # then Ready (and Running) are False with a reason and a message. Its persistence is
    # spec.persistence.postgresql; without a spec.persistence field, that of the SonataFlowPlatform of its
    # namespace (spec.persistence.postgresql), as the operator does; spec.persistence: {} means none.
    #
    # Reachability, simply: a namespace without NetworkPolicies admits everything; otherwise a namespace admits
    # ingress from namespace S when one of its policies has an ingress rule with no "from", or a "from" peer
    # whose namespaceSelector.matchLabels all hold on S (an empty selector matches every namespace), or, for S
    # itself, a peer with a podSelector and no namespaceSelector. Every policy is taken to select every pod (its
    # podSelector, matchExpressions, ports and ipBlocks are not looked at). A workflow then needs: the Secret of
    # secretRef, with userKey and passwordKey, in its own namespace; the Service of serviceRef (in
    # serviceRef.namespace, default its own); the Service's namespace admitting the workflow's; and the
    # workflow's namespace admitting the namespace of its platform's services (the SonataFlowPlatform of its
    # namespace, else the one the SonataFlowClusterPlatform points at) and every namespace that runs a
    # Backstage (Developer Hub calls the workflows).

    def _admits(self, target_ns: str, source_ns: str) -> bool:
        policies = self.store.list("networking.k8s.io/v1", "NetworkPolicy", target_ns)
        if not policies:
            return True
        source = self.store.try_get("v1", "Namespace", source_ns)
        labels = {**((source or {}).get("metadata", {}).get("labels") or {}), "kubernetes.io/metadata.name": source_ns}
        for policy in policies:
            for rule in (policy.get("spec") or {}).get("ingress") or []:
                peers = rule.get("from")
                if not peers:
                    return True
                for peer in peers:
                    if "namespaceSelector" in peer:
                        wanted = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
                        if all(labels.get(k) == v for k, v in wanted.items()):
                            return True
                    elif "podSelector" in peer and source_ns == target_ns:
                        return True
        return False

    def _workflow_persistence(self, workflow: dict, platforms: list[dict]) -> tuple[dict | None, str]:
        spec = workflow.get("spec") or {}
        ns = workflow["metadata"]["namespace"]
        if "persistence" in spec:
            pg = (spec.get("persistence") or {}).get("postgresql")
            return (pg, "spec.persistence.postgresql") if pg else (None, "")
        platform = self._first([p for p in platforms if p["metadata"]["namespace"] == ns])
        pg = (((platform or {}).get("spec") or {}).get("persistence") or {}).get("postgresql")
        if pg:
            return pg, f'SonataFlowPlatform {platform["metadata"]["name"]} spec.persistence.postgresql'
        return None, ""

    def _services_namespace(self, ns: str, platforms: list[dict], clusters: list[dict]) -> str:
        if any(p["metadata"]["namespace"] == ns and not is_deleting(p) for p in platforms):
            return ns
        first = self._first(clusters)
        return ((first or {}).get("spec") or {}).get("platformRef", {}).get("namespace", "") if first else ""

    def _workflow_problem(self, workflow: dict, platforms: list[dict], clusters: list[dict]) -> tuple[str, str]:
        ns = workflow["metadata"]["namespace"]
        pg, path = self._workflow_persistence(workflow, platforms)
        if pg:
            secret_ref = pg.get("secretRef") or {}
            secret = self.store.try_get("v1", "Secret", secret_ref.get("name") or "", ns)
            if secret is None:
                return "SecretNotFound", f'{path}.secretRef: secret "{secret_ref.get("name", "")}" not found in ' \
                                         f'namespace "{ns}"'
            for key_field in ("userKey", "passwordKey"):
                key = secret_ref.get(key_field)
                if key and key not in (secret.get("data") or {}):
                    return "SecretNotFound", f'{path}.secretRef.{key_field}: key "{key}" not found in secret ' \
                                             f'"{secret_ref["name"]}" in namespace "{ns}"'
            service_ref = pg.get("serviceRef") or {}
            svc_ns = service_ref.get("namespace") or ns
            if self.store.try_get("v1", "Service", service_ref.get("name") or "", svc_ns) is None:
                return "ServiceNotFound", f'{path}.serviceRef: service "{service_ref.get("name", "")}" not found ' \
                                          f'in namespace "{svc_ns}"'
            if svc_ns != ns and not self._admits(svc_ns, ns):
                return "DatabaseNotReachable", f'the network policies of namespace "{svc_ns}" do not admit ' \
                                               f'namespace "{ns}", so service "{service_ref["name"]}" cannot be ' \
                                               f'reached'
        callers = [("the SonataFlow platform services", self._services_namespace(ns, platforms, clusters))]
        bapi = self.served(RHDH_GROUP, "Backstage")
        callers += [("Developer Hub", b["metadata"]["namespace"]) for b in (self.store.list(bapi, "Backstage")
                                                                            if bapi else [])]
        for who, source in callers:
            if source and source != ns and not self._admits(ns, source):
                return "IngressNotAdmitted", f'the network policies of namespace "{ns}" do not admit namespace ' \
                                             f'"{source}" ({who})'
        return "", ""

    def _workflow(self, workflow: dict, platforms: list[dict], clusters: list[dict], ts: str) -> None:
        meta = workflow["metadata"]
        ns, name = meta["namespace"], meta["name"]
        status = copy.deepcopy(workflow.get("status") or {})
        conds = status.get("conditions") or []
        reason, message = self._workflow_problem(workflow, platforms, clusters)
        dep = None
        if not reason:
            dep = self._workflow_objects(workflow, platforms)
            if not deployment_available(dep):
                reason, message = "WaitingForDeployment", f'Deployment "{name}" is not available yet'
        state = "False" if reason else "True"
        for ctype in ("Ready", "Running"):
            conds = _svc_condition(conds, ctype, state, reason, message, ts)
        status.update(conditions=conds, observedGeneration=meta.get("generation", 1),
                      address={"url": f"http://{name}.{ns}"} if not reason else None)
        if status.get("address") is None:
            status.pop("address")
        self.write_status(workflow, status, self.manager)

    def _workflow_objects(self, workflow: dict, platforms: list[dict]) -> dict | None:
        meta = workflow["metadata"]
        ns, name = meta["namespace"], meta["name"]
        labels = {"app": name, "sonataflow.org/workflow-app": name, "app.kubernetes.io/name": name,
                  "app.kubernetes.io/managed-by": "sonataflow-operator"}
        owners = [owner_ref(workflow)]
        env = []
        pg = self._workflow_persistence(workflow, platforms)[0]
        if pg:
            ref, sref = pg.get("secretRef") or {}, pg.get("serviceRef") or {}
            env = [
                {"name": "QUARKUS_DATASOURCE_USERNAME", "valueFrom": {"secretKeyRef": {
                    "name": ref.get("name", ""), "key": ref.get("userKey") or "POSTGRESQL_USER"}}},
                {"name": "QUARKUS_DATASOURCE_PASSWORD", "valueFrom": {"secretKeyRef": {
                    "name": ref.get("name", ""), "key": ref.get("passwordKey") or "POSTGRESQL_PASSWORD"}}},
                {"name": "QUARKUS_DATASOURCE_JDBC_URL", "value": (
                    f"jdbc:postgresql://{sref.get('name', '')}.{sref.get('namespace') or ns}:"
                    f"{sref.get('port', 5432)}/{sref.get('databaseName') or 'sonataflow'}"
                    f"?currentSchema={sref.get('databaseSchema') or name}")},
            ]
        container = {"name": "workflow", "image": f"quay.io/kiegroup/{name}:latest",
                     "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}], "env": env}
        dep = self.ensure({"apiVersion": "apps/v1", "kind": "Deployment",
                           "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": owners},
                           "spec": {"replicas": 1, "selector": {"matchLabels": {"sonataflow.org/workflow-app": name}},
                                    "template": {"metadata": {"labels": labels},
                                                 "spec": {"containers": [container]}}}})
        self.ensure({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": owners},
                     "spec": {"selector": {"sonataflow.org/workflow-app": name},
                              "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}})
        return dep

    @staticmethod
    def _first(objs: list[dict]) -> dict | None:
        live = [o for o in objs if not is_deleting(o)]
        return min(live, key=lambda o: (o["metadata"].get("creationTimestamp", ""),
                                        int(o["metadata"].get("resourceVersion") or 0))) if live else None

    def _persistence(self, platform: dict, field: str | None) -> tuple[dict | None, str]:
        spec = platform.get("spec") or {}
        if field:
            svc = (spec.get("services") or {}).get(field) or {}
            pg = (svc.get("persistence") or {}).get("postgresql")
            if pg:
                return pg, f"spec.services.{field}.persistence.postgresql"
        pg = (spec.get("persistence") or {}).get("postgresql")
        return (pg, "spec.persistence.postgresql") if pg else (None, "")

    def _check_refs(self, platform: dict) -> str:
        ns = platform["metadata"]["namespace"]
        fields = [None] + [svc[0] for svc in self.SERVICES if self._enabled(platform, svc[0])]
        for field in fields:
            pg, path = self._persistence(platform, field)
            if not pg:
                continue
            secret_ref = pg.get("secretRef") or {}
            if secret_ref.get("name"):
                secret = self.store.try_get("v1", "Secret", secret_ref["name"], ns)
                if secret is None:
                    return (f'{path}.secretRef: secret "{secret_ref["name"]}" not found in namespace "{ns}"')
                for key_field in ("userKey", "passwordKey"):
                    key = secret_ref.get(key_field)
                    if key and key not in (secret.get("data") or {}):
                        return (f'{path}.secretRef.{key_field}: key "{key}" not found in secret '
                                f'"{secret_ref["name"]}" in namespace "{ns}"')
            service_ref = pg.get("serviceRef") or {}
            if service_ref.get("name"):
                svc_ns = service_ref.get("namespace") or ns
                if self.store.try_get("v1", "Service", service_ref["name"], svc_ns) is None:
                    return f'{path}.serviceRef: service "{service_ref["name"]}" not found in namespace "{svc_ns}"'
        return ""

    @staticmethod
    def _enabled(platform: dict, field: str) -> bool:
        svc = ((platform.get("spec") or {}).get("services") or {}).get(field)
        return isinstance(svc, dict) and svc.get("enabled") is True

    def _platform(self, platform: dict, platforms: list[dict], now: float, ts: str) -> None:
        meta = platform["metadata"]
        ns = meta["namespace"]
        status = copy.deepcopy(platform.get("status") or {})
        conds = status.get("conditions") or []
        first = self._first([p for p in platforms if p["metadata"]["namespace"] == ns])
        status.update(cluster="openshift" if self.config.profile == "openshift" else "kubernetes",
                      version=self.VERSION, observedGeneration=meta.get("generation", 1))
        problem = self._check_refs(platform)
        if first and first["metadata"]["uid"] != meta["uid"]:
            conds = _svc_condition(conds, "Succeed", "False", "Duplicated", "", ts)
        elif problem:
            conds = _svc_condition(conds, "Succeed", "False", "Failure", problem, ts)
        elif self.never_ready("SonataFlowPlatform", meta["name"]) or not self.elapsed(
                (meta["uid"],), now, self.config.delays.sonataflow):
            conds = _svc_condition(conds, "Succeed", "False", "Creating", "", ts)
        else:
            for field, svc, image in self.SERVICES:
                if self._enabled(platform, field):
                    self._service(platform, field, svc, image)
            conds = _svc_condition(conds, "Succeed", "True", "", "", ts)
        status["conditions"] = conds
        self.write_status(platform, status, self.manager)

    def _service(self, platform: dict, field: str, svc: str, image: str) -> None:
        meta = platform["metadata"]
        ns, pname = meta["namespace"], meta["name"]
        name = f"{pname}-{svc}"
        spec = ((platform.get("spec") or {}).get("services") or {}).get(field) or {}
        pod = spec.get("podTemplate") or {}
        labels = {"app": pname, "app-namespace": ns, "sonataflow.org/service": name,
                  "app.kubernetes.io/name": svc, "app.kubernetes.io/component": name,
                  "app.kubernetes.io/part-of": pname, "app.kubernetes.io/managed-by": "sonataflow-operator"}
        owners = [owner_ref(platform)]
        env = [{"name": "KOGITO_SERVICE_URL", "value": f"http://{name}.{ns}"}]
        pg = self._persistence(platform, field)[0]
        if pg:
            ref = pg.get("secretRef") or {}
            sref = pg.get("serviceRef") or {}
            db = sref.get("databaseName") or "sonataflow"
            schema = sref.get("databaseSchema") or name
            env += [
                {"name": "QUARKUS_DATASOURCE_USERNAME", "valueFrom": {"secretKeyRef": {
                    "name": ref.get("name", ""), "key": ref.get("userKey") or "POSTGRESQL_USER"}}},
                {"name": "QUARKUS_DATASOURCE_PASSWORD", "valueFrom": {"secretKeyRef": {
                    "name": ref.get("name", ""), "key": ref.get("passwordKey") or "POSTGRESQL_PASSWORD"}}},
                {"name": "QUARKUS_DATASOURCE_JDBC_URL", "value": (
                    f"jdbc:postgresql://{sref.get('name', '')}.{sref.get('namespace') or ns}:"
                    f"{sref.get('port', 5432)}/{db}?currentSchema={schema}")},
            ]
        container = {"name": svc, "image": (pod.get("container") or {}).get("image")
                     or f"registry.redhat.io/openshift-serverless-1/{image}:1.34.0",
                     "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}], "env": env}
        self.ensure({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": f"{name}-props", "namespace": ns, "labels": labels,
                                  "ownerReferences": owners},
                     "data": {"application.properties":
                              f"quarkus.http.port=8080\nkogito.service.url=http://{name}.{ns}\n"}})
        self.ensure({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": owners},
                     "spec": {"replicas": pod.get("replicas", 1),
                              "selector": {"matchLabels": {"sonataflow.org/service": name}},
                              "template": {"metadata": {"labels": labels},
                                           "spec": {"containers": [container]}}}})
        self.ensure({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": owners},
                     "spec": {"selector": {"sonataflow.org/service": name},
                              "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]}})

    def _cluster_platform(self, cp: dict, clusters: list[dict], api: str, ts: str) -> None:
        meta = cp["metadata"]
        ref = (cp.get("spec") or {}).get("platformRef") or {}
        name, ns = ref.get("name", ""), ref.get("namespace", "")
        status = copy.deepcopy(cp.get("status") or {})
        conds = status.get("conditions") or []
        first = self._first(clusters)
        platform = self.store.try_get(api, "SonataFlowPlatform", name, ns) if name and ns else None
        succeed = None
        if platform:
            succeed = next((c for c in (platform.get("status") or {}).get("conditions") or []
                            if c.get("type") == "Succeed"), None)
        if first and first["metadata"]["uid"] != meta["uid"]:
            conds = _svc_condition(conds, "Succeed", "False", "Duplicated", "", ts)
        elif platform is None:
            conds = _svc_condition(conds, "Succeed", "False", "PlatformNotFound",
                                   f"{name} platform does not exist in {ns} namespace.", ts)
        elif self.never_ready("SonataFlowClusterPlatform", meta["name"]) or not (
                succeed and succeed.get("status") == "True"):
            conds = _svc_condition(conds, "Succeed", "Unknown", "Warming",
                                   f"Waiting for referenced SonataFlowPlatform '{ns}/{name}' to be ready", ts)
        else:
            conds = _svc_condition(conds, "Succeed", "True", "",
                                   f"Referenced SonataFlowPlatform '{ns}/{name}' is ready", ts)
        status.update(conditions=conds, observedGeneration=meta.get("generation", 1), version=self.VERSION)
        self.write_status(cp, status, self.manager)


# ------------------------------------------------------------------------------------------- RHDH
class BackstageController(OperatorController):
    name = "rhdh"
    manager = "backstage-controller"
    operator_deployments = ("rhdh-operator", "backstage-operator")
    SYNC_LABEL = "rhdh.redhat.com/ext-config-sync"
    NAME_ANNOTATION = "rhdh.redhat.com/backstage-name"
    HASH_ANNOTATION = "rhdh.redhat.com/ext-config-hash"

    def reconcile(self, now: float) -> None:
        api = self.served(RHDH_GROUP, "Backstage")
        if not api or not self.running():
            return
        ts = now_iso()
        for cr in self.store.list(api, "Backstage"):
            if not is_deleting(cr):
                self._one(cr, now, ts)

    def _refs(self, cr: dict) -> list[tuple[str, str]]:
        """(kind, name) of the ConfigMaps/Secrets the spec references, in spec order."""
        app = (cr.get("spec") or {}).get("application") or {}
        out: list[tuple[str, str]] = []
        for item in (app.get("appConfig") or {}).get("configMaps") or []:
            out.append(("ConfigMap", item.get("name", "")))
        if app.get("dynamicPluginsConfigMapName"):
            out.append(("ConfigMap", app["dynamicPluginsConfigMapName"]))
        for section in ("extraEnvs", "extraFiles"):
            for kind, key in (("ConfigMap", "configMaps"), ("Secret", "secrets")):
                for item in (app.get(section) or {}).get(key) or []:
                    out.append((kind, item.get("name", "")))
        db_secret = ((cr.get("spec") or {}).get("database") or {}).get("authSecretName")
        if db_secret:
            out.append(("Secret", db_secret))
        seen, uniq = set(), []
        for ref in out:
            if ref not in seen and ref[1]:
                seen.add(ref)
                uniq.append(ref)
        return uniq

    def _external_config(self, cr: dict) -> tuple[str, str]:
        """(hash of the referenced data, error message); labels the referenced objects."""
        meta = cr["metadata"]
        ns = meta["namespace"]
        digest = hashlib.sha256()
        for kind, name in self._refs(cr):
            obj = self.store.try_get("v1", kind, name, ns)
            if obj is None:
                return "", (f"failed to preprocess backstage spec failed to get {kind} {name}: "
                            f'{kind.lower()}s "{name}" not found')
            digest.update(json.dumps([kind, name, obj.get("data") or {}, obj.get("binaryData") or {}],
                                     sort_keys=True).encode())
            ometa = obj["metadata"]
            if (ometa.get("labels") or {}).get(self.SYNC_LABEL) != "true" or (
                    ometa.get("annotations") or {}).get(self.NAME_ANNOTATION) != meta["name"]:
                try:
                    self.store.patch("v1", kind, name, ns, {"metadata": {
                        "labels": {self.SYNC_LABEL: "true"},
                        "annotations": {self.NAME_ANNOTATION: meta["name"]}}}, patch_type="merge",
                        manager=self.manager)
                except Exception as exc:
                    if getattr(exc, "code", None) not in (404, 409):
                        raise
        return digest.hexdigest(), ""

    def _one(self, cr: dict, now: float, ts: str) -> None:
        meta = cr["metadata"]
        gen = meta.get("generation", 1)
        cond_now = next((c for c in (cr.get("status") or {}).get("conditions") or [] if c.get("type") == "Deployed"),
                        None)

        def write(status: str, reason: str, message: str) -> None:
            cond = {"type": "Deployed", "status": status, "observedGeneration": gen, "reason": reason,
                    "message": message,
                    "lastTransitionTime": cond_now["lastTransitionTime"]
                    if cond_now and cond_now.get("status") == status else ts}
            self.write_status(cr, {"conditions": [cond]}, self.manager)

        if cond_now is None:
            write("False", "DeployInProgress", "Deployment process started")
            return
        config_hash, error = self._external_config(cr)
        if error:
            write("False", "DeployFailed", error)
            return
        if not self.elapsed((meta["uid"],), now, self.config.delays.rhdh):
            return
        dep = self._objects(cr, config_hash)
        if self.never_ready("Backstage", meta["name"]):
            write("False", "DeployInProgress", "Deployment process started")
            return
        status = (dep or {}).get("status") or {}
        replicas = ((dep or {}).get("spec") or {}).get("replicas", 1)
        if dep and status.get("observedGeneration") == dep["metadata"].get("generation") and \
                status.get("readyReplicas", 0) == replicas and not status.get("unavailableReplicas"):
            write("True", "Deployed", "")
            return
        parts = [f' {c["type"]}={c["status"]}({c.get("message", "")});' for c in status.get("conditions") or []]
        write("False", "DeployInProgress", "".join(parts) or "no conditions reported yet")

    def _objects(self, cr: dict, config_hash: str) -> dict | None:
        """Create/refresh the objects of one Backstage; returns its Deployment."""
        meta = cr["metadata"]
        ns, crn = meta["namespace"], meta["name"]
        spec = cr.get("spec") or {}
        app = spec.get("application") or {}
        owners = [owner_ref(cr)]
        base = {"app.kubernetes.io/name": "backstage", "app.kubernetes.io/instance": crn}
        app_name, db_name = f"backstage-{crn}", f"backstage-psql-{crn}"
        db_enabled = (spec.get("database") or {}).get("enableLocalDb", True) is not False
        db_secret = (spec.get("database") or {}).get("authSecretName") or f"backstage-psql-secret-{crn}"
        if db_enabled:
            self.ensure({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                         "metadata": {"name": db_secret, "namespace": ns, "labels": base,
                                      "ownerReferences": owners},
                         "stringData": {"POSTGRES_PASSWORD": hashlib.sha256(meta["uid"].encode()).hexdigest()[:24],
                                        "POSTGRESQL_ADMIN_PASSWORD":
                                            hashlib.sha256(meta["uid"].encode()).hexdigest()[:24],
                                        "POSTGRES_USER": "postgres", "POSTGRES_HOST": db_name,
                                        "POSTGRES_PORT": "5432"}}, create_only=True)
            db_labels = {**base, "rhdh.redhat.com/app": db_name}
            self.ensure({"apiVersion": "apps/v1", "kind": "StatefulSet",
                         "metadata": {"name": db_name, "namespace": ns, "labels": db_labels,
                                      "ownerReferences": owners},
                         "spec": {"replicas": 1, "serviceName": db_name,
                                  "selector": {"matchLabels": {"rhdh.redhat.com/app": db_name}},
                                  "template": {"metadata": {"labels": {"rhdh.redhat.com/app": db_name}},
                                               "spec": {"containers": [{
                                                   "name": "postgresql",
                                                   "image": "registry.redhat.io/rhel9/postgresql-15:latest",
                                                   "ports": [{"name": "tcp-postgresql", "containerPort": 5432}],
                                                   "envFrom": [{"secretRef": {"name": db_secret}}]}]}},
                                  "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                                      "accessModes": ["ReadWriteOnce"],
                                      "resources": {"requests": {"storage": "1Gi"}}}}]}})
            self.ensure({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": db_name, "namespace": ns, "labels": db_labels,
                                      "ownerReferences": owners},
                         "spec": {"clusterIP": "None", "selector": {"rhdh.redhat.com/app": db_name},
                                  "ports": [{"port": 5432, "protocol": "TCP"}]}})
        env_from = [{"secretRef": {"name": s["name"]}} for s in (app.get("extraEnvs") or {}).get("secrets") or []
                    if not s.get("key")]
        env_from += [{"configMapRef": {"name": c["name"]}}
                     for c in (app.get("extraEnvs") or {}).get("configMaps") or [] if not c.get("key")]
        if db_enabled:
            env_from.append({"secretRef": {"name": db_secret}})
        volumes, mounts = [], []
        for item in (app.get("appConfig") or {}).get("configMaps") or []:
            volumes.append({"name": item["name"], "configMap": {"name": item["name"]}})
            mounts.append({"name": item["name"], "mountPath": f'/opt/app-root/src/{item["name"]}'})
        plugins = app.get("dynamicPluginsConfigMapName")
        if plugins:
            volumes.append({"name": plugins, "configMap": {"name": plugins}})
        labels = {**base, "rhdh.redhat.com/app": app_name}
        container = {"name": "backstage-backend", "image": app.get("image") or "quay.io/rhdh/rhdh-hub-rhel9:1.3",
                     "ports": [{"name": "backend", "containerPort": 7007, "protocol": "TCP"}],
                     "envFrom": env_from, "volumeMounts": mounts}
        dep = self.ensure({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app_name, "namespace": ns, "labels": labels, "ownerReferences": owners},
            "spec": {"replicas": app.get("replicas", 1),
                     "selector": {"matchLabels": {"rhdh.redhat.com/app": app_name}},
                     "template": {"metadata": {"labels": {"rhdh.redhat.com/app": app_name},
                                               "annotations": {self.HASH_ANNOTATION: config_hash}},
                                  "spec": {"containers": [container], "volumes": volumes}}}})
        self.ensure({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": app_name, "namespace": ns, "labels": labels, "ownerReferences": owners},
                     "spec": {"selector": {"rhdh.redhat.com/app": app_name},
                              "ports": [{"name": "http-backend", "port": 80, "protocol": "TCP",
                                         "targetPort": "backend"}]}})
        route = app.get("route") or {}
        if route.get("enabled", True) is not False and self.served("route.openshift.io", "Route"):
            host = route.get("host") or (f'{route["subdomain"]}.{self.config.cluster_domain}'
                                         if route.get("subdomain") else
                                         f"{app_name}-{ns}.{self.config.cluster_domain}")
            rt = self.ensure({
                "apiVersion": "route.openshift.io/v1", "kind": "Route",
                "metadata": {"name": app_name, "namespace": ns, "labels": labels, "ownerReferences": owners},
                "spec": {"host": host, "to": {"kind": "Service", "name": app_name, "weight": 100},
                         "port": {"targetPort": "http-backend"},
                         "tls": {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"},
                         "wildcardPolicy": "None"}})
            if rt is not None and not (rt.get("status") or {}).get("ingress"):
                self.write_status(rt, {"ingress": [{
                    "host": host, "routerName": "default", "wildcardPolicy": "None",
                    "routerCanonicalHostname": f"router-default.{self.config.cluster_domain}",
                    "conditions": [{"type": "Admitted", "status": "True", "lastTransitionTime": now_iso()}]}]},
                    self.manager)
        return dep
