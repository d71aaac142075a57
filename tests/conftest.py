"""Shared fixtures: the local test cluster."""

from __future__ import annotations

import pytest

from tests.cluster import LocalCluster


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
