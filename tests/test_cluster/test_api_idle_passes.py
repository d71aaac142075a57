"""The controller loop skips passes when nothing changed and no timed step is pending."""

from __future__ import annotations

import dataclasses

from tests.cluster import controllers as controllers_mod
from tests.cluster import profile
from tests.cluster.config import ClusterConfig, Delays
from tests.cluster.controllers import ControllerManager
from tests.cluster.store import Store

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
              "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                  "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}


def manager(monkeypatch, **overrides) -> ControllerManager:
    monkeypatch.setattr(controllers_mod, "RESYNC", 1e9)  # no periodic pass during the test
    config = dataclasses.replace(ClusterConfig(), **overrides)
    store = Store(config)
    profile.seed(store, config)
    return ControllerManager(store, config)


def settle(mgr: ControllerManager, now: float, passes: int = 10) -> None:
    for dummy in range(passes):
        mgr.run_once(now)


def available(store: Store) -> bool:
    dep = store.get("apps/v1", "Deployment", "d", "default")
    return any(c["type"] == "Available" and c["status"] == "True" for c in dep["status"].get("conditions", []))


def test_idle_until_the_store_changes(monkeypatch):
    mgr = manager(monkeypatch)
    assert not mgr.idle()  # never ran
    settle(mgr, 100.0)
    assert mgr.idle()
    mgr.store.create(DEPLOYMENT, manager="t")
    assert not mgr.idle()
    mgr.run_once(100.0)  # writes the Deployment's status: one more pass is due
    assert available(mgr.store) and not mgr.idle()
    mgr.run_once(100.0)
    assert mgr.idle()


def test_not_idle_while_a_timed_step_waits(monkeypatch):
    mgr = manager(monkeypatch, delays=Delays(workloads=30))
    settle(mgr, 100.0)
    mgr.store.create(DEPLOYMENT, manager="t")
    settle(mgr, 100.0)
    assert not available(mgr.store)
    assert not mgr.idle()  # nothing was written, but the Deployment is due at 130
    settle(mgr, 131.0)
    assert available(mgr.store)
    assert mgr.idle()


def test_a_failing_or_untracked_controller_keeps_the_loop_running(monkeypatch):
    mgr = manager(monkeypatch, controllers=frozenset({"workloads"}))
    settle(mgr, 100.0)
    assert mgr.idle()

    class Plain:  # no Controller.elapsed: the manager cannot tell whether it waits on time
        name = "plain"

        def reconcile(self, now):
            pass

    mgr.controllers.append(Plain())
    settle(mgr, 100.0)
    assert not mgr.idle()

    class Failing(Plain):
        def reconcile(self, now):
            raise RuntimeError("boom")

    mgr.controllers[-1] = Failing()
    Failing.elapsed = lambda self, key, now, delay: True
    settle(mgr, 100.0)
    assert not mgr.idle()


def test_loop_skips_idle_passes(monkeypatch):
    """The background loop consults idle(): no pass runs while it says so."""
    interval = 0.01
    mgr = manager(monkeypatch, controllers=frozenset({"workloads"}), controller_interval=interval)
    settle(mgr, 100.0)
    calls = []
    monkeypatch.setattr(mgr, "run_once", lambda now=None: calls.append(now))
    monkeypatch.setattr(mgr, "idle", lambda: True)
    stop = mgr._stop
    waits = []

    def fake_wait(timeout):  # three loop iterations, then stop
        waits.append(timeout)
        if len(waits) == 3:
            stop.set()
        return stop.is_set()

    monkeypatch.setattr(stop, "wait", fake_wait)
    mgr._loop()
    assert waits == [interval] * 3 and calls == []
