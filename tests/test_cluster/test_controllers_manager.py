"""ControllerManager, plus the small in-process harness the controller tests share."""

from __future__ import annotations

import dataclasses
import logging
import threading

from tests.cluster import controllers as controllers_mod
from tests.cluster import profile
from tests.cluster.config import ClusterConfig, Delays
from tests.cluster.controllers import ControllerManager
from tests.cluster.store import Store

SUB_API = "operators.coreos.com/v1alpha1"


class Sim:
    """A seeded Store and its controllers, driven pass by pass with a fake clock."""

    def __init__(self, **overrides):
        for key in ("controllers", "failing_packages", "never_ready"):
            if key in overrides:
                overrides[key] = frozenset(overrides[key])
        if isinstance(overrides.get("delays"), dict):
            overrides["delays"] = Delays(**overrides["delays"])
        self.config = dataclasses.replace(ClusterConfig(), **overrides)
        self.store = Store(self.config)
        profile.seed(self.store, self.config)
        self.manager = ControllerManager(self.store, self.config)
        self.now = 1000.0

    def run(self, passes: int = 4, advance: float = 0.0) -> None:
        """Advance the fake clock, then run that many controller passes."""
        self.now += advance
        for dummy in range(passes):
            self.manager.run_once(self.now)

    def create(self, obj: dict) -> dict:
        return self.store.create(obj, manager="test")

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        return self.store.try_get(api_version, kind, name, namespace)

    def namespace(self, *names: str) -> None:
        for name in names:
            if self.get("v1", "Namespace", name) is None:
                self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def operator_group(self, namespace: str, name: str, spec: dict | None = None) -> dict:
        self.namespace(namespace)
        return self.create({"apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup",
                            "metadata": {"name": name, "namespace": namespace}, "spec": spec or {}})

    def subscription(self, namespace: str, name: str, package: str | None = None, channel: str | None = None,
                     **spec) -> dict:
        self.namespace(namespace)
        body = {"name": package or name, "source": "redhat-operators",
                "sourceNamespace": "openshift-marketplace", "installPlanApproval": "Automatic", **spec}
        if channel:
            body["channel"] = channel
        return self.create({"apiVersion": SUB_API, "kind": "Subscription",
                            "metadata": {"name": name, "namespace": namespace}, "spec": body})

    def install(self, namespace: str, package: str, channel: str | None = None, **spec) -> dict:
        """OperatorGroup + Subscription, then passes until the CSV succeeded; returns the Subscription."""
        self.operator_group(namespace, f"{namespace}-group")
        self.subscription(namespace, package, package, channel, **spec)
        self.run(8)
        return self.get(SUB_API, "Subscription", package, namespace)


def status_of(obj: dict | None) -> dict:
    return (obj or {}).get("status") or {}


def cond(obj: dict | None, ctype: str) -> dict:
    for c in status_of(obj).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return {}


def test_manager_builds_enabled_controllers_in_fixed_order():
    sim = Sim()
    names = [c.name for c in sim.manager.controllers]
    assert names == ["namespace", "garbage-collector", "serviceaccount", "olm", "knative", "sonataflow", "rhdh",
                     "gitops", "workloads"]
    only = Sim(controllers={"workloads", "olm"})
    assert [c.name for c in only.manager.controllers] == ["olm", "workloads"]


def test_a_failing_controller_is_logged_and_the_others_still_run(caplog):
    sim = Sim(controllers={"serviceaccount", "workloads"})

    class Broken:
        name = "broken"
        calls = 0

        def reconcile(self, now):
            Broken.calls += 1
            raise RuntimeError("boom")

    sim.manager.controllers.insert(0, Broken())
    sim.namespace("team-a")
    with caplog.at_level(logging.ERROR, logger="tests.cluster.controllers"):
        sim.run(2)
    assert Broken.calls == 2
    assert "controller broken failed" in caplog.text
    assert sim.get("v1", "ServiceAccount", "default", "team-a") is not None


def test_start_runs_passes_on_a_thread_and_stop_joins():
    sim = Sim(controllers={"serviceaccount"}, controller_interval=0.01)
    ran = threading.Event()
    original = sim.manager.run_once

    def spy(now=None):
        original(now)
        ran.set()

    sim.manager.run_once = spy
    sim.namespace("team-b")
    sim.manager.start()
    try:
        assert ran.wait(10)
    finally:
        sim.manager.stop()
    assert sim.manager._thread is None
    assert sim.get("v1", "ServiceAccount", "default", "team-b") is not None


def test_missing_controller_module_is_skipped(monkeypatch):
    monkeypatch.setattr(controllers_mod, "_REGISTRY", controllers_mod._REGISTRY + (
        ("workloads", "does_not_exist", "Nothing", ("python", "real")),))
    sim = Sim(controllers={"workloads"})
    assert [c.name for c in sim.manager.controllers] == ["workloads"]
