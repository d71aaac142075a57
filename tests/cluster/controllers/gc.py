"""Garbage collector: ownerReferences cascade, foreground and orphan deletion."""

from __future__ import annotations

from tests.cluster.errors import ApiError

from .base import Controller

MANAGER = "garbage-collector"


class GarbageCollector(Controller):
    """Deletes objects whose owners are all gone; serves the foregroundDeletion/orphan finalizers."""

    name = "garbage-collector"

    def reconcile(self, now: float) -> None:
        index = self.store.metadata_index()
        live = {meta["uid"]: (rt, meta) for rt, meta in index}
        dependents: dict[str, list] = {}
        for rt, meta in index:
            for ref in meta.get("ownerReferences") or []:
                dependents.setdefault(ref.get("uid"), []).append((rt, meta))
        for rt, meta in index:
            refs = meta.get("ownerReferences") or []
            if refs and not meta.get("deletionTimestamp"):
                if all(not self._owner_alive(ref, meta, live) for ref in refs):
                    self._delete(rt, meta)
            fins = meta.get("finalizers") or []
            if meta.get("deletionTimestamp") and "orphan" in fins:
                self._orphan(rt, meta, dependents.get(meta["uid"], []))
            elif meta.get("deletionTimestamp") and "foregroundDeletion" in fins:
                self._foreground(rt, meta, dependents.get(meta["uid"], []))

    @staticmethod
    def _owner_alive(ref: dict, meta: dict, live: dict) -> bool:
        owner = live.get(ref.get("uid"))
        if owner is None:
            return False
        ort, ometa = owner
        if ort.kind != ref.get("kind") or ometa.get("name") != ref.get("name"):
            return False
        if ort.namespaced and ometa.get("namespace") != meta.get("namespace"):
            return False
        return True

    def _delete(self, rt, meta, propagation: str | None = None) -> None:
        try:
            self.store.delete(rt.api_version, rt.kind, meta["name"], meta.get("namespace"),
                              propagation=propagation, preconditions={"uid": meta["uid"]})
        except ApiError as exc:
            if exc.code not in (404, 409):
                raise

    def _foreground(self, rt, meta, deps) -> None:
        waiting = False
        for drt, dmeta in deps:
            waiting = True
            if not dmeta.get("deletionTimestamp"):
                self._delete(drt, dmeta, propagation="Foreground")
        if not waiting:
            self.store.remove_finalizer(rt.api_version, rt.kind, meta["name"], meta.get("namespace"),
                                        "foregroundDeletion", manager=MANAGER)

    def _orphan(self, rt, meta, deps) -> None:
        uid = meta["uid"]
        for drt, dmeta in deps:
            obj = self.store.try_get(drt.api_version, drt.kind, dmeta["name"], dmeta.get("namespace"))
            if obj is None:
                continue
            refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            patch = {"metadata": {"ownerReferences": refs or None, "resourceVersion":
                                  obj["metadata"]["resourceVersion"]}}
            try:
                self.store.patch(drt.api_version, drt.kind, dmeta["name"], dmeta.get("namespace"), patch,
                                 patch_type="merge", manager=MANAGER)
            except ApiError as exc:
                if exc.code not in (404, 409):
                    raise
                return
        self.store.remove_finalizer(rt.api_version, rt.kind, meta["name"], meta.get("namespace"), "orphan",
                                    manager=MANAGER)
