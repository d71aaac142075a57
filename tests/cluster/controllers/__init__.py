"""Simulated cluster controllers and the manager that runs them."""

from __future__ import annotations

import importlib
import logging
import threading
import time

from tests.cluster.config import ClusterConfig

log = logging.getLogger("tests.cluster.controllers")

# (config name, module, class), in the order of one pass.
_REGISTRY = (
    ("namespace", "namespace", "NamespaceController"),
    ("garbage-collector", "gc", "GarbageCollector"),
    ("serviceaccount", "serviceaccount", "ServiceAccountController"),
    ("olm", "olm", "OLMController"),
    ("knative", "operators", "KnativeController"),
    ("sonataflow", "operators", "SonataFlowController"),
    ("rhdh", "operators", "BackstageController"),
    ("workloads", "workloads", "WorkloadController"),
)


def _load(module: str, cls: str):
    try:
        mod = importlib.import_module(f"{__name__}.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{module}":
            log.warning("controller module %s is missing; skipped", module)
            return None
        raise
    return getattr(mod, cls, None)


class ControllerManager:
    """Runs every enabled controller, in a fixed order, on a daemon thread."""

    def __init__(self, store, config: ClusterConfig):
        self.store = store
        self.config = config
        self.controllers = []
        for name, module, cls in _REGISTRY:
            if not config.controller_enabled(name):
                continue
            klass = _load(module, cls)
            if klass is not None:
                self.controllers.append(klass(store, config))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: float | None = None) -> None:
        """One pass over all controllers; one failing controller does not stop the others."""
        with self._lock:
            for ctrl in self.controllers:
                try:
                    ctrl.reconcile(time.monotonic() if now is None else now)
                except Exception:  # noqa: BLE001 - a controller bug must not kill the loop
                    log.exception("controller %s failed", getattr(ctrl, "name", ctrl))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.config.controller_interval)

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="cluster-controllers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
            self._thread = None
