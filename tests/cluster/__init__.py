"""A local stand-in for an OpenShift API server, for tests."""

from .config import ClusterConfig, Delays, Faults
from .cluster import LocalCluster

__all__ = ["ClusterConfig", "Delays", "Faults", "LocalCluster"]
