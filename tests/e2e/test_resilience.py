"""site.yml against an API server that fails the way real ones do: throttling and 5xx answers, dropped
connections, and a server that lost what a client had cached about it.

Each case asserts that the run converges (every component ready), that the next run changes nothing,
and that faults were really injected.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_site import assert_installed, run_site
from tests.helpers import run_playbook


def injected(cluster, status: int | None) -> int:
    """Requests answered with an injected error (``status``) or dropped (None: logged as status 0)."""
    return sum(1 for e in cluster.requests.entries if e.status == (0 if status is None else status))


@pytest.mark.parametrize("faults", [
    {"error_rate": 0.1, "error_codes": (500, 503, 429), "seed": 5},
    {"drop_rate": 0.05, "seed": 9},
], ids=["10-percent-errors", "5-percent-dropped"])
def test_site_converges_through_transient_failures(cluster_factory, faults):
    cluster = cluster_factory()
    cluster.set_faults(**faults)
    rc, out, recap = run_site(cluster)
    assert rc == 0, out[-6000:]
    codes = (None,) if faults.get("drop_rate") else faults["error_codes"]
    assert sum(injected(cluster, code) for code in codes) >= 5, "the faults were not injected"
    cluster.set_faults()
    assert_installed(cluster.store)
    cluster.set_faults(**dict(faults, seed=faults["seed"] + 1))
    rc, out, recap = run_site(cluster)
    assert rc == 0, out[-6000:]
    assert recap["changed"] == 0, out[-6000:]


def test_check_mode_after_the_server_lost_its_api_groups(cluster_factory):
    """kubernetes.core caches API discovery per host; a server on the same address that no longer serves
    what the cache says (CRDs removed, or a new cluster on the same port) must not break a check run."""
    first = cluster_factory()
    warm = [{"name": "Fill the discovery cache", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Read a Knative Serving", "kubernetes.core.k8s_info": {
            "api_version": "operator.knative.dev/v1beta1", "kind": "KnativeServing", "namespace": "x"}}]}]
    rc, out, recap = run_site(first)
    assert rc == 0, out[-6000:]
    proc = run_playbook(first, warm)
    assert proc.returncode == 0, proc.stdout
    port = first.port
    first.stop()
    second = cluster_factory(port=port)
    assert second.port == port
    rc, out, recap = run_site(second, check=True)
    assert rc == 0, out[-6000:]
    assert "404 page not found" not in out
