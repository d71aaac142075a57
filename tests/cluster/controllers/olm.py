"""A small Operator Lifecycle Manager: Subscription -> InstallPlan -> CSV -> operator.

Follows the real OLM's visible behaviour: resolution against the simulated
catalog, InstallPlans named ``install-xxxxx`` (Manual approval waits for
``spec.approved``), CSV phase history, OperatorGroup checks, the package's
CRDs and operator Deployments, upgrades along the channel's ``replaces``
chain, adoption of an existing CSV by a new Subscription and reinstall of a
deleted CSV while its Subscription exists.
"""

from __future__ import annotations

import copy

from tests.cluster import catalog as catalog_mod
from tests.cluster.controllers.base import Controller, deployment_available, is_deleting, now_iso, owner_ref
from tests.cluster.controllers.workloads import deployment_status
from tests.cluster.crds import crd_catalog, get_crd

V1A1 = "operators.coreos.com/v1alpha1"
OG_API = "operators.coreos.com/v1"
CATALOG_MANAGER = "catalog-operator"
OLM_MANAGER = "olm-operator"
PENDING_PHASES = ("", "Planning", "Installing", "RequiresApproval")

MODE_MESSAGES = {
    "AllNamespaces": "cannot configure to watch all namespaces",
    "OwnNamespace": "cannot configure to watch own namespace",
    "SingleNamespace": "cannot configure to watch one namespace",
    "MultiNamespace": "cannot configure to watch multiple namespaces",
}


def package_label(package: str, namespace: str) -> str:
    return "operators.coreos.com/" + f"{package}.{namespace}"[:63]


def _cond(conditions: list[dict], ctype: str, status: str | None, reason: str = "", message: str = "",
          ts: str = "") -> list[dict]:
    """Set (or with ``status`` None remove) a Subscription condition."""
    old = next((c for c in conditions if c.get("type") == ctype), None)
    rest = [c for c in conditions if c.get("type") != ctype]
    if status is None:
        return rest
    new = {"type": ctype, "status": status}
    if reason:
        new["reason"] = reason
    if message:
        new["message"] = message
    if old and old.get("status") == status:
        new["lastTransitionTime"] = old.get("lastTransitionTime", ts)
    else:
        new["lastTransitionTime"] = ts
    return rest + [new]


def _history(status: dict, phase: str, reason: str, message: str, ts: str) -> dict:
    """Move a CSV status to ``phase`` and append the step to its history."""
    out = dict(status)
    if out.get("phase") != phase:
        out["lastTransitionTime"] = ts
    out.update(phase=phase, reason=reason, message=message, lastUpdateTime=ts)
    out["conditions"] = list(out.get("conditions") or []) + [
        {"phase": phase, "reason": reason, "message": message, "lastUpdateTime": ts, "lastTransitionTime": ts}]
    return out


class OLMController(Controller):
    name = "olm"

    def __init__(self, store, config):
        super().__init__(store, config)
        self.catalog = catalog_mod.operator_catalog(config.extra_channels)

    # -- lookups -----------------------------------------------------------------
    def package_of(self, csv_name: str) -> catalog_mod.Package | None:
        for pkg in self.catalog.values():
            if pkg.entry(csv_name):
                return pkg
        return None

    def _catalog_ready(self, name: str, namespace: str) -> bool:
        cs = self.store.try_get(V1A1, "CatalogSource", name, namespace)
        state = (((cs or {}).get("status") or {}).get("connectionState") or {}).get("lastObservedState")
        return state == "READY"

    def _operator_groups(self, namespace: str) -> list[dict]:
        return [og for og in self.store.list(OG_API, "OperatorGroup", namespace) if not is_deleting(og)]

    def og_targets(self, og: dict) -> list[str]:
        spec = og.get("spec") or {}
        if spec.get("targetNamespaces"):
            return sorted(spec["targetNamespaces"])
        selector = (spec.get("selector") or {}).get("matchLabels")
        if selector:
            out = []
            for ns in self.store.list("v1", "Namespace"):
                labels = ns["metadata"].get("labels") or {}
                if all(labels.get(k) == v for k, v in selector.items()):
                    out.append(ns["metadata"]["name"])
            return sorted(out)
        return [""]

    # -- main loop -------------------------------------------------------------
    def reconcile(self, now: float) -> None:
        if not (self.served("operators.coreos.com", "Subscription")
                and self.served("operators.coreos.com", "ClusterServiceVersion")):
            return
        ts = now_iso()
        for og in self.store.list(OG_API, "OperatorGroup"):
            self._operator_group(og, ts)
        for sub in self.store.list(V1A1, "Subscription"):
            sub.setdefault("apiVersion", V1A1)
            sub.setdefault("kind", "Subscription")
            if not is_deleting(sub):
                self._subscription(sub, now, ts)
        for ip in self.store.list(V1A1, "InstallPlan"):
            ip.setdefault("apiVersion", V1A1)
            ip.setdefault("kind", "InstallPlan")
            if not is_deleting(ip):
                self._installplan(ip, ts)
        for csv in self.store.list(V1A1, "ClusterServiceVersion"):
            csv.setdefault("apiVersion", V1A1)
            csv.setdefault("kind", "ClusterServiceVersion")
            if not is_deleting(csv):
                self._csv(csv, now, ts)
        self._remove_orphans()

    # -- OperatorGroup ---------------------------------------------------------
    def _operator_group(self, og: dict, ts: str) -> None:
        og.setdefault("apiVersion", OG_API)
        og.setdefault("kind", "OperatorGroup")
        status = dict(og.get("status") or {})
        targets = self.og_targets(og)
        if status.get("namespaces") != targets:
            status.update(namespaces=targets, lastUpdated=ts)
            self.write_status(og, status, OLM_MANAGER)

    # -- Subscription ----------------------------------------------------------
    def _resolve(self, sub: dict) -> tuple[str | None, str, str]:
        """(csv name, reason, message): csv None when resolution failed."""
        spec = sub.get("spec") or {}
        name = sub["metadata"]["name"]
        pkg_name, source = spec.get("name", ""), spec.get("source", "")
        source_ns = spec.get("sourceNamespace", "")
        tail = f"in the catalog referenced by subscription {name}, subscription {name} exists"
        if not self.store.try_get(V1A1, "CatalogSource", source, source_ns):
            return None, "ErrorPreventedResolution", (
                f"failed to populate resolver cache from source {source}/{source_ns}: "
                f'catalogsources.operators.coreos.com "{source}" not found')
        if not self._catalog_ready(source, source_ns):
            return None, "ErrorPreventedResolution", (
                f"failed to populate resolver cache from source {source}/{source_ns}: failed to list bundles: "
                "rpc error: code = Unavailable desc = connection error")
        pkg = self.catalog.get(pkg_name)
        if pkg is None:
            return None, "ConstraintsNotSatisfiable", (
                f"constraints not satisfiable: no operators found in package {pkg_name} {tail}")
        channel = spec.get("channel") or pkg.default_channel
        if channel not in pkg.channels:
            return None, "ConstraintsNotSatisfiable", (
                f"constraints not satisfiable: no operators found in channel {channel} of package "
                f"{pkg_name} {tail}")
        existing = self._existing_csv(pkg, sub["metadata"]["namespace"])
        if existing:
            return existing, "", ""
        start = spec.get("startingCSV")
        if start:
            if not pkg.entry(start, channel):
                return None, "ConstraintsNotSatisfiable", (
                    f"constraints not satisfiable: no operators found with name {start} in channel {channel} "
                    f"of package {pkg_name} {tail}")
            return start, "", ""
        return pkg.head(channel).name, "", ""

    def _existing_csv(self, pkg: catalog_mod.Package, namespace: str) -> str | None:
        for csv in self.store.list(V1A1, "ClusterServiceVersion", namespace):
            if pkg.entry(csv["metadata"]["name"]) and not is_deleting(csv):
                if (csv.get("status") or {}).get("phase") not in ("Replacing", "Deleting"):
                    return csv["metadata"]["name"]
        return None

    def _health(self, sub: dict, status: dict, ts: str) -> bool:
        spec = sub.get("spec") or {}
        source, source_ns = spec.get("source", ""), spec.get("sourceNamespace", "")
        old = {(h.get("catalogSourceRef") or {}).get("name"): h for h in status.get("catalogHealth") or []}
        health = []
        for ns in sorted({source_ns, sub["metadata"]["namespace"]}):
            for cs in self.store.list(V1A1, "CatalogSource", ns):
                cname = cs["metadata"]["name"]
                ok = self._catalog_ready(cname, ns)
                prev = old.get(cname)
                health.append({
                    "catalogSourceRef": {"apiVersion": V1A1, "kind": "CatalogSource", "name": cname,
                                         "namespace": ns, "uid": cs["metadata"]["uid"]},
                    "healthy": ok,
                    "lastUpdated": prev["lastUpdated"] if prev and prev.get("healthy") == ok else ts})
        status["catalogHealth"] = health
        target_ok = self._catalog_ready(source, source_ns)
        conds = status.get("conditions") or []
        if target_ok:
            conds = _cond(conds, "CatalogSourcesUnhealthy", "False", "AllCatalogSourcesHealthy",
                          "all available catalogsources are healthy", ts)
        else:
            missing = self.store.try_get(V1A1, "CatalogSource", source, source_ns) is None
            conds = _cond(conds, "CatalogSourcesUnhealthy", "True", "UnhealthyCatalogSourceFound",
                          f"targeted catalogsource {source_ns}/{source} {'missing' if missing else 'unhealthy'}",
                          ts)
        status["conditions"] = conds
        return target_ok

    def _subscription(self, sub: dict, now: float, ts: str) -> None:
        meta = sub["metadata"]
        ns = meta["namespace"]
        spec = sub.get("spec") or {}
        old_status = sub.get("status") or {}
        status = copy.deepcopy(old_status)
        self._health(sub, status, ts)
        conds = status.get("conditions") or []
        pkg = self.catalog.get(spec.get("name", ""))
        if pkg is not None:
            self._label(sub, package_label(pkg.name, ns))
        current = status.get("currentCSV")
        if not current:
            if not self.elapsed(("sub", meta["uid"]), now, self.config.delays.olm_resolve):
                return self._write_sub(sub, old_status, status, ts)
            csv_name, reason, message = self._resolve(sub)
            if csv_name is None:
                status["conditions"] = _cond(conds, "ResolutionFailed", "True", reason, message, ts)
                return self._write_sub(sub, old_status, status, ts)
            conds = _cond(conds, "ResolutionFailed", None)
            status["currentCSV"] = csv_name
            status["conditions"] = conds
            if self.store.try_get(V1A1, "ClusterServiceVersion", csv_name, ns) is None:
                self._new_plan(sub, status, csv_name, ts)
            return self._write_sub(sub, old_status, status, ts)

        csv = self.store.try_get(V1A1, "ClusterServiceVersion", current, ns)
        ip_name = (status.get("installPlanRef") or {}).get("name")
        ip = self.store.try_get(V1A1, "InstallPlan", ip_name, ns) if ip_name else None
        if csv is not None:
            status.update(installedCSV=current, state="AtLatestKnown")
            conds = _cond(conds, "InstallPlanPending", None)
            conds = _cond(conds, "InstallPlanFailed", None)
            conds = _cond(conds, "InstallPlanMissing", None)
            status["conditions"] = conds
            channel = spec.get("channel") or (pkg.default_channel if pkg else "")
            nxt = pkg.successor(channel, current) if pkg else None
            if nxt and (csv.get("status") or {}).get("phase") == "Succeeded":
                status["currentCSV"] = nxt.name
                self._new_plan(sub, status, nxt.name, ts)
            return self._write_sub(sub, old_status, status, ts)

        # the current CSV does not exist (yet, or any more)
        status["state"] = "UpgradePending"
        phase = ((ip or {}).get("status") or {}).get("phase", "")
        if ip is None or phase == "Complete":
            # plan gone or CSV deleted after install: OLM plans the install again
            self._new_plan(sub, status, current, ts)
        elif phase == "Failed":
            status["conditions"] = _cond(conds, "InstallPlanFailed", "True", "InstallPlanFailed",
                                         (ip.get("status") or {}).get("message", ""), ts)
        else:
            status["conditions"] = _cond(conds, "InstallPlanPending", "True", phase or "InstallPlanNotYetReconciled",
                                         "", ts)
        return self._write_sub(sub, old_status, status, ts)

    def _write_sub(self, sub: dict, old: dict, status: dict, ts: str) -> None:
        def strip(s: dict) -> dict:
            return {k: v for k, v in s.items() if k != "lastUpdated"}

        if strip(old) == strip(status):
            return
        status["lastUpdated"] = ts
        self.write_status(sub, status, CATALOG_MANAGER)

    def _label(self, obj: dict, label: str) -> None:
        if label in (obj["metadata"].get("labels") or {}):
            return
        meta = obj["metadata"]
        try:
            updated = self.store.patch(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"),
                                       {"metadata": {"labels": {label: ""}}}, patch_type="merge",
                                       manager=OLM_MANAGER)
            meta.update(updated["metadata"])
        except Exception as exc:
            if getattr(exc, "code", None) not in (404, 409):
                raise

    def _new_plan(self, sub: dict, status: dict, csv_name: str, ts: str) -> None:
        """Create an InstallPlan for ``csv_name`` and point the Subscription at it."""
        spec = sub.get("spec") or {}
        ns = sub["metadata"]["namespace"]
        pkg = self.package_of(csv_name)
        approval = spec.get("installPlanApproval") or "Automatic"
        generation = len(self.store.list(V1A1, "InstallPlan", ns)) + 1
        labels = {package_label(pkg.name, ns): ""} if pkg else {}
        ip = self.store.create({
            "apiVersion": V1A1, "kind": "InstallPlan",
            "metadata": {"generateName": "install-", "namespace": ns, "labels": labels,
                         "ownerReferences": [owner_ref(sub, controller=False, block=False)]},
            "spec": {"approval": approval, "approved": approval == "Automatic",
                     "clusterServiceVersionNames": [csv_name], "generation": generation},
        }, manager=CATALOG_MANAGER)
        source, source_ns = spec.get("source", ""), spec.get("sourceNamespace", "")
        steps = []
        for crd in (pkg.crds if pkg else ()):
            steps.append({"resolving": csv_name, "status": "Unknown",
                          "resource": {"group": "apiextensions.k8s.io", "version": "v1",
                                       "kind": "CustomResourceDefinition", "name": crd, "sourceName": source,
                                       "sourceNamespace": source_ns}})
        steps.append({"resolving": csv_name, "status": "Unknown",
                      "resource": {"group": "operators.coreos.com", "version": "v1alpha1",
                                   "kind": "ClusterServiceVersion", "name": csv_name, "sourceName": source,
                                   "sourceNamespace": source_ns}})
        phase = "Installing" if approval == "Automatic" else "RequiresApproval"
        self.write_status(ip, {"phase": phase, "catalogSources": [source], "plan": steps, "startTime": ts},
                          CATALOG_MANAGER)
        meta = ip["metadata"]
        status.update(
            installPlanRef={"apiVersion": V1A1, "kind": "InstallPlan", "name": meta["name"], "namespace": ns,
                            "resourceVersion": meta.get("resourceVersion", ""), "uid": meta["uid"]},
            installplan={"apiVersion": V1A1, "kind": "InstallPlan", "name": meta["name"], "uuid": meta["uid"]},
            installPlanGeneration=generation, state="UpgradePending")
        status["conditions"] = _cond(status.get("conditions") or [], "InstallPlanPending", "True", phase, "", ts)

    # -- InstallPlan -----------------------------------------------------------
    def _installplan(self, ip: dict, ts: str) -> None:
        status = copy.deepcopy(ip.get("status") or {})
        spec = ip.get("spec") or {}
        phase = status.get("phase", "")
        if phase == "RequiresApproval" and spec.get("approved"):
            phase = "Installing"
        if phase != "Installing":
            if phase != status.get("phase"):
                self.write_status(ip, {**status, "phase": phase}, CATALOG_MANAGER)
            return
        ns = ip["metadata"]["namespace"]
        names = spec.get("clusterServiceVersionNames") or []
        pkg = self.package_of(names[0]) if names else None
        if pkg is None:
            message = f"unknown ClusterServiceVersion {names[0] if names else ''}"
            status.update(phase="Failed", message=message, conditions=[
                {"type": "Installed", "status": "False", "reason": "InstallComponentFailed", "message": message,
                 "lastUpdateTime": ts, "lastTransitionTime": ts}])
            self.write_status(ip, status, CATALOG_MANAGER)
            return
        label = package_label(pkg.name, ns)
        for crd_name in pkg.crds:
            if self.store.try_get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd_name) is None:
                crd = get_crd(crd_name, self.config.crds_dir)
                crd["metadata"].setdefault("labels", {})[label] = ""
                self._create(crd, CATALOG_MANAGER)
        csv_name = names[0]
        if self.store.try_get(V1A1, "ClusterServiceVersion", csv_name, ns) is None:
            self._create(self._csv_manifest(pkg, csv_name, ns, label), CATALOG_MANAGER)
        for step in status.get("plan") or []:
            step["status"] = "Created"
        status.update(phase="Complete", conditions=[
            {"type": "Installed", "status": "True", "lastUpdateTime": ts, "lastTransitionTime": ts}])
        self.write_status(ip, status, CATALOG_MANAGER)

    def _create(self, obj: dict, manager: str) -> dict | None:
        try:
            return self.store.create(obj, manager=manager)
        except Exception as exc:
            if getattr(exc, "code", None) in (403, 404, 409):
                return None
            raise

    def _csv_manifest(self, pkg: catalog_mod.Package, csv_name: str, ns: str, label: str) -> dict:
        entry = pkg.entry(csv_name)
        version = entry.version if entry else catalog_mod.version_of(csv_name)
        crds = []
        catalog = crd_catalog(self.config.crds_dir)
        for crd_name in pkg.crds:
            crd = catalog.get(crd_name)
            if crd:
                served = [v["name"] for v in crd["spec"]["versions"] if v.get("storage")]
                crds.append({"name": crd_name, "kind": crd["spec"]["names"]["kind"],
                             "version": served[0] if served else crd["spec"]["versions"][0]["name"],
                             "displayName": crd["spec"]["names"]["kind"]})
        spec = {
            "displayName": pkg.display_name,
            "version": version,
            "provider": {"name": pkg.provider},
            "maturity": "stable",
            "installModes": [{"type": m, "supported": pkg.install_modes.get(m, False)}
                             for m in catalog_mod.INSTALL_MODES],
            "customresourcedefinitions": {"owned": crds},
            "install": {"strategy": "deployment", "spec": {"deployments": [
                {"name": dep, "spec": self._deployment_spec(pkg, dep, version)} for dep in pkg.deployments]}},
        }
        if entry and entry.replaces:
            spec["replaces"] = entry.replaces
        return {"apiVersion": V1A1, "kind": "ClusterServiceVersion",
                "metadata": {"name": csv_name, "namespace": ns, "labels": {label: ""},
                             "annotations": {"operators.operatorframework.io/builder": "operator-sdk",
                                             "capabilities": "Seamless Upgrades"}},
                "spec": spec}

    @staticmethod
    def _deployment_spec(pkg: catalog_mod.Package, dep: str, version: str) -> dict:
        return {"replicas": 1, "selector": {"matchLabels": {"name": dep}},
                "template": {"metadata": {"labels": {"name": dep}},
                             "spec": {"serviceAccountName": dep, "containers": [
                                 {"name": dep, "image": f"{pkg.image}:v{version}"}]}}}

    # -- ClusterServiceVersion ---------------------------------------------------
    def _og_problem(self, csv: dict, pkg: catalog_mod.Package | None) -> tuple[str, str, dict | None]:
        """(reason, message, operator group); reason empty when fine."""
        ns = csv["metadata"]["namespace"]
        ogs = self._operator_groups(ns)
        if not ogs:
            return "NoOperatorGroup", "csv in namespace with no operatorgroups", None
        if len(ogs) > 1:
            return ("TooManyOperatorGroups",
                    "csv created in namespace with multiple operatorgroups, can't pick one automatically", None)
        og = ogs[0]
        targets = self.og_targets(og)
        if targets == [""]:
            mode = "AllNamespaces"
        elif targets == [ns]:
            mode = "OwnNamespace"
        elif len(targets) == 1:
            mode = "SingleNamespace"
        else:
            mode = "MultiNamespace"
        modes = {m["type"]: m.get("supported") for m in (csv.get("spec") or {}).get("installModes") or []}
        if not modes.get(mode):
            return ("UnsupportedOperatorGroup",
                    f"{mode} InstallModeType not supported, {MODE_MESSAGES[mode]}", og)
        return "", "", og

    def _csv(self, csv: dict, now: float, ts: str) -> None:
        meta = csv["metadata"]
        ns, name = meta["namespace"], meta["name"]
        pkg = self.package_of(name)
        if pkg is None:
            return
        csv = self.store.try_get(V1A1, "ClusterServiceVersion", name, ns)  # fresh: earlier steps may have moved it
        if csv is None or is_deleting(csv):
            return
        csv.setdefault("apiVersion", V1A1)
        csv.setdefault("kind", "ClusterServiceVersion")
        meta = csv["metadata"]
        old = csv.get("status") or {}
        status = copy.deepcopy(old)
        phase = status.get("phase", "")
        if phase in ("Deleting",):
            self._delete(csv)
            return
        reason, message, og = self._og_problem(csv, pkg)
        if reason:
            if status.get("reason") != reason:
                if not phase:
                    status = _history(status, "Pending", "RequirementsUnknown", "requirements not yet checked", ts)
                status = _history(status, "Failed", reason, message, ts)
                self.write_status(csv, status, OLM_MANAGER)
            return
        self._annotate(csv, og)
        if phase == "Failed" and status.get("reason") in ("NoOperatorGroup", "TooManyOperatorGroups",
                                                          "UnsupportedOperatorGroup"):
            phase = ""
        if phase in ("", "Pending"):
            status = _history(status, "Pending", "RequirementsUnknown", "requirements not yet checked", ts)
            status = _history(status, "InstallReady", "AllRequirementsMet",
                              "all requirements found, attempting install", ts)
            status = _history(status, "Installing", "InstallSucceeded",
                              "waiting for install components to report healthy", ts)
            status["requirementStatus"] = [
                {"group": "operators.coreos.com", "version": "v1alpha1", "kind": "ClusterServiceVersion",
                 "name": name, "status": "Present", "message": "CSV minKubeVersion (1.27.0) less than server version"}]
            self._mark_replaced(csv, "Replacing", "BeingReplaced",
                                f"being replaced by csv: {csv['metadata']['name']}", ts)
            self._ensure_deployments(csv, pkg)
            self.write_status(csv, status, OLM_MANAGER)
            return
        if phase == "Installing":
            deps = self._ensure_deployments(csv, pkg)
            for dep in deps:
                if not deployment_available(dep) and self.config.api == "python":
                    self.write_status(dep, deployment_status(dep, "unavailable", ts), "kube-controller-manager")
            deps = self._ensure_deployments(csv, pkg)
            key = ("csv", meta["uid"], status.get("lastTransitionTime"))
            due = self.elapsed(key, now, self.config.delays.olm_install)
            if pkg.name in self.config.failing_packages:
                if due:
                    dep = pkg.deployments[0]
                    status = _history(status, "Failed", "InstallComponentFailed",
                                      f"install strategy failed: deployment {dep} not ready before timeout: "
                                      f'deployment "{dep}" exceeded its progress deadline', ts)
                    self.write_status(csv, status, OLM_MANAGER)
                return
            if due:
                for dep in deps:
                    if (self.config.api == "python" and not deployment_available(dep)
                            and not self.never_ready("Deployment", dep["metadata"]["name"])):
                        self.write_status(dep, deployment_status(dep, "ready", ts), "kube-controller-manager")
                deps = self._ensure_deployments(csv, pkg)
            if due and all(deployment_available(d) for d in deps):
                status = _history(status, "Succeeded", "InstallSucceeded",
                                  "install strategy completed with no errors", ts)
                self.write_status(csv, status, OLM_MANAGER)
                self._mark_replaced(csv, "Deleting", "Replaced", "has been replaced by a newer "
                                    "ClusterServiceVersion that has successfully installed.", ts)
            return
        if phase == "Succeeded":
            deps = self._ensure_deployments(csv, pkg)
            if not all(deployment_available(d) for d in deps):
                missing = next(d["metadata"]["name"] for d in deps if not deployment_available(d))
                status = _history(status, "Installing", "InstallWaiting",
                                  f"installing: waiting for deployment {missing} to become ready: "
                                  f'deployment "{missing}" not available: Deployment does not have minimum '
                                  "availability.", ts)
                self.write_status(csv, status, OLM_MANAGER)

    def _annotate(self, csv: dict, og: dict) -> None:
        meta = csv["metadata"]
        targets = ",".join(self.og_targets(og))
        want = {"olm.operatorGroup": og["metadata"]["name"], "olm.operatorNamespace": meta["namespace"],
                "olm.targetNamespaces": targets}
        ann = meta.get("annotations") or {}
        if all(ann.get(k) == v for k, v in want.items()):
            return
        try:
            updated = self.store.patch(V1A1, "ClusterServiceVersion", meta["name"], meta["namespace"],
                                       {"metadata": {"annotations": want}}, patch_type="merge",
                                       manager=OLM_MANAGER)
            csv["metadata"] = updated["metadata"]
        except Exception as exc:
            if getattr(exc, "code", None) not in (404, 409):
                raise

    def _ensure_deployments(self, csv: dict, pkg: catalog_mod.Package) -> list[dict]:
        """Create or take over the CSV's Deployments; returns them."""
        meta = csv["metadata"]
        ns, name = meta["namespace"], meta["name"]
        labels = {"olm.owner": name, "olm.owner.kind": "ClusterServiceVersion", "olm.owner.namespace": ns,
                  "olm.managed": "true", package_label(pkg.name, ns): ""}
        owners = [owner_ref(csv, controller=False, block=False)]
        out = []
        for item in (((csv.get("spec") or {}).get("install") or {}).get("spec") or {}).get("deployments") or []:
            dep = self.store.try_get("apps/v1", "Deployment", item["name"], ns)
            account = (((item.get("spec") or {}).get("template") or {}).get("spec") or {}).get("serviceAccountName")
            if account and self.store.try_get("v1", "ServiceAccount", account, ns) is None:
                self._create({"apiVersion": "v1", "kind": "ServiceAccount",
                              "metadata": {"name": account, "namespace": ns, "labels": labels,
                                           "ownerReferences": owners}}, OLM_MANAGER)
            if dep is None:
                dep = self._create({"apiVersion": "apps/v1", "kind": "Deployment",
                                    "metadata": {"name": item["name"], "namespace": ns, "labels": labels,
                                                 "ownerReferences": owners},
                                    "spec": copy.deepcopy(item["spec"])}, OLM_MANAGER)
            elif (dep["metadata"].get("labels") or {}).get("olm.owner") != name:
                dep.setdefault("apiVersion", "apps/v1")
                dep.setdefault("kind", "Deployment")
                dep["metadata"]["labels"] = {**(dep["metadata"].get("labels") or {}), **labels}
                dep["metadata"]["ownerReferences"] = owners
                dep["spec"]["template"] = copy.deepcopy(item["spec"]["template"])
                try:
                    dep = self.store.update(dep, manager=OLM_MANAGER)
                except Exception as exc:
                    if getattr(exc, "code", None) not in (404, 409):
                        raise
            if dep is not None:
                dep.setdefault("apiVersion", "apps/v1")
                dep.setdefault("kind", "Deployment")
                out.append(dep)
        return out

    def _mark_replaced(self, csv: dict, phase: str, reason: str, message: str, ts: str) -> None:
        """Move the CSV that ``csv`` replaces (if any) to ``phase``."""
        old_name = (csv.get("spec") or {}).get("replaces")
        if not old_name:
            return
        old = self.store.try_get(V1A1, "ClusterServiceVersion", old_name, csv["metadata"]["namespace"])
        if old is None:
            return
        status = _history(old.get("status") or {}, phase, reason, message, ts)
        self.write_status(old, status, OLM_MANAGER)

    def _delete(self, obj: dict) -> None:
        meta = obj["metadata"]
        try:
            self.store.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        except Exception as exc:
            if getattr(exc, "code", None) != 404:
                raise

    def _remove_orphans(self) -> None:
        """Deleting a CSV removes the operator Deployments it installed."""
        for dep in self.store.list("apps/v1", "Deployment", label_selector="olm.owner.kind=ClusterServiceVersion"):
            labels = dep["metadata"].get("labels") or {}
            if labels.get("olm.owner.kind") != "ClusterServiceVersion" or is_deleting(dep):
                continue
            owner_ns = labels.get("olm.owner.namespace", dep["metadata"]["namespace"])
            if self.store.try_get(V1A1, "ClusterServiceVersion", labels.get("olm.owner", ""), owner_ns) is None:
                dep.setdefault("apiVersion", "apps/v1")
                dep.setdefault("kind", "Deployment")
                self._delete(dep)
