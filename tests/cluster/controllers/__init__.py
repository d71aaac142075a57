"""Simulated cluster controllers and the manager that runs them."""

from __future__ import annotations

import importlib
import logging
import threading
import time

from tests.cluster.config import ClusterConfig

log = logging.getLogger("tests.cluster.controllers")

# Seconds after which the background loop runs a pass even when nothing changed.
RESYNC = 2.0

# (config name, module, class, API servers it runs with), in the order of one pass. With the real
# control plane, the controller manager does what the first three and WorkloadController do here, and
# NodeController plays the scheduler, the kubelets and the storage provisioner.
_BOTH, _PYTHON, _REAL = ("python", "real"), ("python",), ("real",)
_REGISTRY = (
    ("namespace", "namespace", "NamespaceController", _PYTHON),
    ("garbage-collector", "gc", "GarbageCollector", _PYTHON),
    ("serviceaccount", "serviceaccount", "ServiceAccountController", _PYTHON),
    ("olm", "olm", "OLMController", _BOTH),
    ("knative", "operators", "KnativeController", _BOTH),
    ("sonataflow", "operators", "SonataFlowController", _BOTH),
    ("rhdh", "operators", "BackstageController", _BOTH),
    ("gitops", "gitops", "GitOpsController", _BOTH),
    ("workloads", "workloads", "WorkloadController", _PYTHON),
    ("workloads", "node", "NodeController", _REAL),
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
        for name, module, cls, servers in _REGISTRY:
            if config.api not in servers or not config.controller_enabled(name):
                continue
            klass = _load(module, cls)
            if klass is not None:
                self.controllers.append(klass(store, config))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # what the last pass saw: the store revision before it, whether a step still waits on time
        self._last_revision: str | None = None
        self._waiting = True
        self._last_pass = 0.0

    def _timed(self, ctrl) -> bool:
        """Note, through the controller's ``elapsed``, when one of its timed steps is not yet due."""
        original = getattr(ctrl, "elapsed", None)
        if original is None or getattr(original, "_tracked", False):
            return original is not None

        def elapsed(key, now, delay):
            due = original(key, now, delay)
            if not due:
                self._waiting = True
            return due

        elapsed._tracked = True
        ctrl.elapsed = elapsed
        return True

    def run_once(self, now: float | None = None) -> None:
        """One pass over all controllers; one failing controller does not stop the others."""
        with self._lock:
            self._last_revision = self.store.resource_version()
            self._waiting = False
            for ctrl in self.controllers:
                if not self._timed(ctrl):
                    self._waiting = True  # no way to tell whether it waits on time: never idle
                try:
                    ctrl.reconcile(time.monotonic() if now is None else now)
                except Exception:  # noqa: BLE001 - a controller bug must not kill the loop
                    self._waiting = True
                    log.exception("controller %s failed", getattr(ctrl, "name", ctrl))
            self._last_pass = time.monotonic()

    def idle(self) -> bool:
        """True when a pass would do nothing: no write since the last pass began, no timed step pending.

        A pass is deterministic given the store's content and the clock, so the loop may skip it; a full
        pass still runs every ``RESYNC`` seconds.
        """
        with self._lock:
            return (not self._waiting and self._last_revision == self.store.resource_version()
                    and time.monotonic() - self._last_pass < RESYNC)

    def _loop(self) -> None:
        while not self._stop.wait(self.config.controller_interval):
            if not self.idle():
                self.run_once()

    def start(self) -> None:
        """One pass now, the next ones every ``controller_interval`` seconds in the background.

        The first pass is done when ``start`` returns, so that nothing of it races with what a caller
        does next (a cluster with a long interval then changes only when asked).
        """
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self.run_once()
        self._thread = threading.Thread(target=self._loop, name="cluster-controllers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
            self._thread = None
        for ctrl in self.controllers:
            getattr(ctrl, "stop", lambda: None)()
