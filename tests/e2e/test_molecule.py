"""Every molecule scenario in extensions/molecule, each against its own test cluster."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ansible_env

EXTENSIONS = Path(__file__).resolve().parents[2] / "extensions"
SCENARIOS = sorted(p.parent.name for p in (EXTENSIONS / "molecule").glob("*/molecule.yml"))


def test_scenarios_are_found():
    assert "prerequisites" in SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, cluster):
    env = ansible_env(cluster, NO_COLOR="1", PY_COLORS="0", COLUMNS="200")
    proc = subprocess.run(["molecule", "test", "-s", scenario], cwd=EXTENSIONS, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    for step in ("converge", "idempotence", "verify"):
        assert re.search(r"%s\W+Executed: Successful" % step, output), output[-6000:]
