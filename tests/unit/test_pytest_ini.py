"""pytest.ini holds only what pytest itself understands; plugin options live in tests/conftest.py."""

import configparser
import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _ini():
    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / "pytest.ini")
    return parser["pytest"]


def test_addopts_has_no_plugin_option():
    options = [arg.split("=", 1)[0] for arg in shlex.split(_ini().get("addopts", "")) if arg.startswith("-")]
    assert options, "addopts is expected to hold pytest's own options"
    assert not [o for o in options if o.startswith("--ansible")], options
    # xdist's options would break a run without pytest-xdist in the same way
    assert not [o for o in options if o in ("-n", "--numprocesses", "--dist", "--maxprocesses")], options


def test_pytest_starts_without_any_plugin():
    """With plugin autoloading off, the ini file's options and keys are all pytest's own."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--strict-config", "-p", "no:cacheprovider",
         "--collect-only", "-q", "tests/unit/test_role_arguments.py"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "test_role_arguments.py::" in proc.stdout, output
    assert "unrecognized" not in output and "Unknown config option" not in output, output


def test_inject_only_is_set_when_the_plugin_is_loaded(pytestconfig):
    """pytest-ansible, when present, injects only ANSIBLE_COLLECTIONS_PATH (no ./collections/)."""
    if importlib.util.find_spec("pytest_ansible") is not None and pytestconfig.pluginmanager.hasplugin("pytest-ansible"):
        assert pytestconfig.option.ansible_unit_inject_only is True
    else:
        assert not hasattr(pytestconfig.option, "ansible_unit_inject_only")
        assert not os.environ.get("CI"), "CI runs with pytest-ansible (requirements-test.txt pins it)"
