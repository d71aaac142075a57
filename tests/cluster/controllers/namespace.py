"""Namespace lifecycle: a Terminating namespace loses its content, then goes away."""

from __future__ import annotations

from tests.cluster.errors import ApiError

from .base import Controller, now_iso

MANAGER = "namespace-controller"


class NamespaceController(Controller):
    """Deletes the content of Terminating namespaces and finalizes them once empty."""

    name = "namespace"

    def reconcile(self, now: float) -> None:
        for ns in self.store.list("v1", "Namespace"):
            if ns["metadata"].get("deletionTimestamp"):
                self._terminate(ns)

    def _terminate(self, ns: dict) -> None:
        name = ns["metadata"]["name"]
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        for rt in self.store.stored_types():
            if not rt.namespaced:
                continue
            for obj in self.store.list(rt.api_version, rt.kind, namespace=name):
                meta = obj["metadata"]
                if not meta.get("deletionTimestamp"):
                    try:
                        obj = self.store.delete(rt.api_version, rt.kind, meta["name"], name)
                    except ApiError as exc:
                        if exc.code != 404:
                            raise
                        obj = None
                if obj is None:
                    continue
                label = f"{rt.plural}.{rt.group}"
                remaining[label] = remaining.get(label, 0) + 1
                for fin in obj["metadata"].get("finalizers") or []:
                    finalizers[fin] = finalizers.get(fin, 0) + 1
        if not remaining:
            self.store.finalize_namespace(name, manager=MANAGER)
            return
        self._set_conditions(ns, remaining, finalizers)

    def _set_conditions(self, ns: dict, remaining: dict, finalizers: dict) -> None:
        content = ", ".join(f"{k} has {v} resource instances" for k, v in sorted(remaining.items()))
        fins = ", ".join(f"{k} in {v} resource instances" for k, v in sorted(finalizers.items()))
        wanted = [
            ("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered",
             "All resources successfully discovered"),
            ("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
             "All legacy kube types successfully parsed"),
            ("NamespaceDeletionContentFailure", "False", "ContentDeleted",
             "All content successfully deleted, may be waiting on finalization"),
            ("NamespaceContentRemaining", "True", "SomeResourcesRemain",
             f"Some resources are remaining: {content}"),
            ("NamespaceFinalizersRemaining", "True" if fins else "False",
             "SomeFinalizersRemain" if fins else "ContentHasNoFinalizers",
             f"Some content in the namespace has finalizers remaining: {fins}" if fins
             else "All content-preserving finalizers finished"),
        ]
        status = dict(ns.get("status") or {})
        old = {c["type"]: c for c in status.get("conditions") or []}
        conditions = []
        for ctype, cstatus, reason, message in wanted:
            prev = old.get(ctype)
            if prev and (prev.get("status"), prev.get("reason"), prev.get("message")) == (cstatus, reason, message):
                conditions.append(prev)
                continue
            when = prev["lastTransitionTime"] if prev and prev.get("status") == cstatus else now_iso()
            conditions.append({"type": ctype, "status": cstatus, "lastTransitionTime": when,
                               "reason": reason, "message": message})
        if conditions == status.get("conditions"):
            return
        status["conditions"] = conditions
        self.write_status(ns, status, MANAGER)
