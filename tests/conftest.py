"""Shared fixtures: the local test cluster."""

from __future__ import annotations

import os

import pytest

from tests.cluster import LocalCluster


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Keep pytest-ansible from creating ./collections/ when it is installed.

    Without ``--ansible-unit-inject-only`` the plugin links every top-level entry of
    the checkout into ./collections/ (which then ends up in builds and lint runs);
    with it, the plugin only injects the paths ANSIBLE_COLLECTIONS_PATH names. The
    option exists only when the plugin is loaded, so pytest.ini cannot carry it.
    This hook runs before the plugin's own pytest_configure, which reads it.
    """
    # With pytest-xdist, the tests of one xdist_group run on one worker, so that a
    # module-scoped fixture they share (test_validation's bad-input runs) runs once.
    if getattr(config.option, "dist", None) == "load":
        config.option.dist = "loadgroup"
    if hasattr(config.option, "ansible_unit_inject_only"):
        config.option.ansible_unit_inject_only = True
    elif os.environ.get("CI"):
        raise pytest.UsageError(
            "pytest-ansible is not loaded; CI runs with requirements-test.txt, which pins it")


@pytest.fixture
def cluster_factory(tmp_path, monkeypatch):
    """Start LocalClusters with ClusterConfig overrides; all are stopped at teardown."""
    started: list[LocalCluster] = []

    def start(**overrides) -> LocalCluster:
        cluster = LocalCluster(**overrides).start()
        started.append(cluster)
        cluster.write_kubeconfig(tmp_path / f"kubeconfig-{len(started)}")
        monkeypatch.setenv("TMPDIR", str(cluster.tmpdir))
        return cluster

    yield start
    for cluster in reversed(started):
        cluster.stop()


@pytest.fixture
def cluster(cluster_factory) -> LocalCluster:
    """A default test cluster (openshift profile, all controllers)."""
    return cluster_factory()
