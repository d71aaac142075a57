"""Base class and helpers shared by the simulated controllers."""

from __future__ import annotations

import copy
import logging
import time
from datetime import datetime, timezone

from tests.cluster.config import ClusterConfig

log = logging.getLogger("tests.cluster.controllers")


def now_iso(now: float | None = None) -> str:
    """RFC3339 UTC with seconds, as metav1.Time serialises."""
    ts = time.time() if now is None else now
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def owner_ref(obj: dict, *, controller: bool = True, block: bool = True) -> dict:
    """An ownerReference pointing at ``obj``."""
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": block}


def is_deleting(obj: dict) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def condition(obj: dict, ctype: str) -> dict | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def deployment_available(dep: dict | None) -> bool:
    """Available=True and the latest generation observed."""
    if not dep or is_deleting(dep):
        return False
    cond = condition(dep, "Available")
    status = dep.get("status") or {}
    return bool(cond and cond.get("status") == "True"
                and status.get("observedGeneration") == dep["metadata"].get("generation"))


def set_condition(conditions: list[dict], new: dict, now: str, *, time_keys=("lastTransitionTime",)) -> list[dict]:
    """Put ``new`` (type/status/reason/message) into ``conditions``.

    Time keys keep their old values unless the status changed; the list stays
    sorted by type.
    """
    out = [c for c in conditions if c.get("type") != new["type"]]
    old = next((c for c in conditions if c.get("type") == new["type"]), None)
    cond = {k: v for k, v in new.items() if v is not None}
    same = old is not None and old.get("status") == new.get("status")
    for key in time_keys:
        cond[key] = old.get(key, now) if same and old else now
    out.append(cond)
    out.sort(key=lambda c: c.get("type", ""))
    return out


class Controller:
    """One simulated controller; ``reconcile`` is one cheap pass."""

    name = "base"

    def __init__(self, store, config: ClusterConfig):
        self.store = store
        self.config = config
        self._seen: dict[tuple, float] = {}

    def reconcile(self, now: float) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------
    def since(self, key: tuple, now: float) -> float:
        """Seconds since ``key`` was first seen by this controller."""
        first = self._seen.setdefault(key, now)
        return now - first

    def elapsed(self, key: tuple, now: float, delay: float) -> bool:
        """True once ``delay`` seconds passed since ``key`` was first seen."""
        return self.since(key, now) >= delay

    def forget(self, prefix) -> None:
        for key in [k for k in self._seen if k[0] == prefix]:
            del self._seen[key]

    def served(self, group: str, kind: str) -> str | None:
        """An apiVersion under which ``group``/``kind`` is served now, or None."""
        best = None
        for rt in self.store.resource_types():
            if rt.group == group and rt.kind == kind:
                if best is None:
                    best = rt
        return best.api_version if best else None

    def never_ready(self, kind: str, name: str) -> bool:
        marks = self.config.never_ready
        return kind in marks or f"{kind}/{name}" in marks

    def blocked(self, kind: str, obj: dict | None) -> bool:
        """The workload is marked never ready, or belongs to an operator whose package fails."""
        if obj is None:
            return False
        meta = obj["metadata"]
        if self.never_ready(kind, meta["name"]):
            return True
        for label in meta.get("labels") or {}:
            if label.startswith("operators.coreos.com/"):
                if label.split("/", 1)[1].rsplit(".", 1)[0] in self.config.failing_packages:
                    return True
        return False

    def write_status(self, obj: dict, status: dict, manager: str) -> dict | None:
        """Write ``status`` when it differs from the stored one; None on a lost race."""
        if obj.get("status") == status:
            return obj
        new = copy.deepcopy(obj)
        new["status"] = status
        try:
            return self.store.update(new, manager=manager, subresource="status")
        except Exception as exc:  # conflict or object gone: next pass retries
            if getattr(exc, "code", None) in (404, 409):
                return None
            raise

    def operator_running(self, deployment: str) -> bool:
        """True when a Deployment of that name exists somewhere and is Available."""
        for dep in self.store.list("apps/v1", "Deployment", field_selector=f"metadata.name={deployment}"):
            if dep["metadata"]["name"] == deployment and deployment_available(dep):
                return True
        return False
