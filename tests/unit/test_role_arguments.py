"""Every role's meta/argument_specs.yml says the same as its defaults/main.yml."""

from pathlib import Path

import pytest
import yaml

ROLES = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "roles").iterdir()
               if (p / "meta" / "argument_specs.yml").is_file())
ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"


def load(path):
    return yaml.safe_load(path.read_text()) or {} if path.is_file() else {}


def spec_defaults(options):
    """Option name -> default, for options that have one."""
    return {name: opt["default"] for name, opt in options.items() if "default" in opt}


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_match_role_defaults(role):
    options = load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = load(ROLES_DIR / role / "defaults" / "main.yml")
    assert spec_defaults(options) == defaults
    # A required option must not have a default anywhere.
    for name, opt in options.items():
        if opt.get("required"):
            assert name not in defaults


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_documented_in_readme(role):
    options = load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    readme = (ROLES_DIR / role / "README.md").read_text()
    missing = [name for name in options if "`%s`" % name not in readme]
    assert missing == []


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_are_prefixed(role):
    defaults = load(ROLES_DIR / role / "defaults" / "main.yml")
    assert all(name.startswith((role + "_", "orchestrator_")) for name in defaults)


def test_some_role_is_checked():
    assert "prerequisites" in ROLES
