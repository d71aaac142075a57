"""The test cluster's own tests run on the Python API server; the API tests (``test_api_*``) run
against the real control plane too, where a difference is a bug in the Python server."""

from __future__ import annotations

import pytest

from tests.cluster.config import API_ENV
from tests.helpers import require_controlplane


def pytest_generate_tests(metafunc):
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    python_only = metafunc.definition.get_closest_marker("python_server") is not None
    if module.startswith("test_api_") and not python_only and {"cluster", "cluster_factory"} & set(
            metafunc.fixturenames):
        metafunc.parametrize("api_server", ["python", "real"], indirect=True)


@pytest.fixture(autouse=True)
def api_server(request, monkeypatch):
    """The API server of the clusters a test starts: "python" unless parametrized."""
    api = getattr(request, "param", "python")
    if api == "real":
        require_controlplane()
    monkeypatch.setenv(API_ENV, api)
    return api
