"""A component that failed for good fails the run at once, naming it and its condition, instead of being
polled until its timeout."""

from __future__ import annotations

import time

from tests.e2e.test_site import SONATAFLOW, WORKFLOW_NS, condition, run_site


def test_a_platform_that_failed_for_good_fails_the_run_at_once(cluster):
    # An external database whose Secret does not exist: the operator marks the platform Succeed=False
    # (reason Failure) and will not get further until the Secret appears.
    external = {"orchestrator_components": ["serverless", "serverless_logic", "rhdh"],
                "serverless_logic_postgresql_secret_name": "missing-credentials",
                "serverless_logic_postgresql_service_name": "db",
                "serverless_logic_postgresql_service_namespace": WORKFLOW_NS,
                "serverless_logic_platform_timeout": 600}
    start = time.monotonic()
    rc, out, recap = run_site(cluster, external)
    elapsed = time.monotonic() - start
    assert rc != 0 and recap["failed"] == 1, out[-6000:]
    flat = " ".join(out.replace("\\n", "\n").split())
    assert "SonataFlowPlatform sonataflow-infra/sonataflow-platform failed" in flat, flat[-4000:]
    assert 'secret "missing-credentials" not found' in flat
    # far from the 600 s the platform may take to become ready
    assert elapsed < 200
    platform = cluster.store.get(SONATAFLOW, "SonataFlowPlatform", "sonataflow-platform", WORKFLOW_NS)
    assert condition(platform, "Succeed")["reason"] == "Failure"
