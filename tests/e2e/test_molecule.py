"""Every molecule scenario in extensions/molecule, each against its own test cluster."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import ansible_env

REPO_ROOT = Path(__file__).resolve().parents[2]
MOLECULE = REPO_ROOT / "extensions" / "molecule"
SCENARIOS = sorted(p.parent.name for p in MOLECULE.glob("*/molecule.yml"))
# The test cluster a scenario needs, when not the default one (ClusterConfig overrides).
CLUSTERS = {"gitops": {"gitops": True}}


def test_scenarios_are_found():
    assert "prerequisites" in SCENARIOS


def _leaves(data, prefix=()):
    """(key path, value) of every non-mapping value of a molecule config."""
    for key, value in (data or {}).items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, prefix + (key,))
        else:
            yield prefix + (key,), value


def test_scenarios_share_the_base_config():
    """extensions/molecule/config.yml holds the settings; a scenario sets only what differs."""
    base = yaml.safe_load((MOLECULE / "config.yml").read_text())
    assert base["driver"] == {"name": "default", "options": {"managed": False}}
    assert base["platforms"] == [{"name": "localhost"}]
    assert "verify" in base["scenario"]["test_sequence"]
    shared = dict(_leaves(base))
    for scenario in SCENARIOS:
        own = yaml.safe_load((MOLECULE / scenario / "molecule.yml").read_text())
        assert own is None or isinstance(own, dict), scenario
        repeated = [path for path, value in _leaves(own) if shared.get(path, object()) == value]
        assert not repeated, (scenario, repeated)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, cluster_factory):
    cluster = cluster_factory(**CLUSTERS.get(scenario, {}))
    env = ansible_env(cluster, NO_COLOR="1", PY_COLORS="0", COLUMNS="200")
    # from the collection root: only there molecule reads extensions/molecule/config.yml
    proc = subprocess.run(["molecule", "test", "-s", scenario], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-20000:]
    for step in ("converge", "idempotence", "verify"):
        assert re.search(r"%s\W+Executed: Successful" % step, output), output[-6000:]
