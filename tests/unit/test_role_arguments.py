"""Every role's meta/argument_specs.yml says the same as its defaults/main.yml.

The shared orchestrator_* settings are declared (defaults, spec, README) in the
common role only; every role that reads one depends on it. The phase table of
the common role names entry points that exist.
"""

import re
from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "meta" / "argument_specs.yml").is_file())
COMMON = "common"
SHARED_PREFIX = "orchestrator_"


def load(path):
    return yaml.safe_load(path.read_text()) or {} if path.is_file() else {}


def spec_defaults(options):
    """Option name -> default, for options that have one."""
    return {name: opt["default"] for name, opt in options.items() if "default" in opt}


def main_options(role):
    return load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]


def role_defaults(role):
    return load(ROLES_DIR / role / "defaults" / "main.yml")


def common_vars():
    return load(ROLES_DIR / COMMON / "vars" / "main.yml")


def role_sources(role):
    """The text of a role's tasks, templates, defaults and vars."""
    base = ROLES_DIR / role
    return "\n".join(p.read_text() for sub in ("tasks", "templates", "defaults", "vars") if (base / sub).is_dir()
                     for p in sorted((base / sub).rglob("*")) if p.is_file())


def dependencies(role):
    deps = load(ROLES_DIR / role / "meta" / "main.yml").get("dependencies") or []
    return [d["role"] if isinstance(d, dict) else d for d in deps]


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_match_role_defaults(role):
    options = main_options(role)
    defaults = role_defaults(role)
    assert spec_defaults(options) == defaults
    # A required option must not have a default anywhere.
    for name, opt in options.items():
        if opt.get("required"):
            assert name not in defaults


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_documented_in_readme(role):
    options = main_options(role)
    readme = (ROLES_DIR / role / "README.md").read_text()
    missing = [name for name in options if "`%s`" % name not in readme]
    assert missing == []


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_are_prefixed(role):
    """A role declares its own prefix only; the common role declares the shared settings only."""
    prefix = SHARED_PREFIX if role == COMMON else role + "_"
    assert [name for name in role_defaults(role) if not name.startswith(prefix)] == []
    assert [name for name in main_options(role) if not name.startswith(prefix)] == []


def test_the_shared_settings_are_declared_once_in_the_common_role():
    shared = set(role_defaults(COMMON))
    assert {"orchestrator_components", "orchestrator_catalog_source", "orchestrator_catalog_source_namespace",
            "orchestrator_workflow_namespace", "orchestrator_extra_workflow_namespaces", "orchestrator_rhdh_namespace",
            "orchestrator_gitops_enabled",
            "orchestrator_tekton_enabled", "orchestrator_argocd_namespace", "orchestrator_argocd_instance",
            "orchestrator_other_settings"} == shared
    for role in ROLES:
        if role != COMMON:
            assert shared.isdisjoint(role_defaults(role)), role
            assert shared.isdisjoint(main_options(role)), role


@pytest.mark.parametrize("role", [r for r in ROLES if r != COMMON])
def test_a_role_that_reads_a_shared_setting_depends_on_the_common_role(role):
    shared = set(role_defaults(COMMON))
    read = shared & set(re.findall(r"\borchestrator_\w+", role_sources(role)))
    if read:
        assert "parodos.orchestrator.common" in dependencies(role), sorted(read)


def test_the_common_role_depends_on_nothing():
    assert dependencies(COMMON) == []


def test_the_component_table_names_existing_entry_points():
    constants = common_vars()
    components = constants["__common_components"]
    phases = constants["__common_phases"]
    assert len(components) == len(set(components))
    # The default selection is every component that exists today, each once.
    assert sorted(role_defaults(COMMON)["orchestrator_components"]) == sorted(components)
    # Every component is validated; a phase names only known components, each once.
    assert sorted(phases["validate"]) == sorted(components)
    for phase, names in phases.items():
        assert len(names) == len(set(names)), phase
        assert set(names) <= set(components), phase
        for name in names:
            assert (ROLES_DIR / name / "tasks" / f"{phase}.yml").is_file(), (name, phase)
    # The validate phase checks every input against the role's whole spec; the later phases take what it checked.
    for name in phases["validate"]:
        specs = load(ROLES_DIR / name / "meta" / "argument_specs.yml")["argument_specs"]
        assert specs["validate"] == specs["main"], name
    # The prerequisites role checks its inputs where site.yml enters it.
    specs = load(ROLES_DIR / "prerequisites" / "meta" / "argument_specs.yml")["argument_specs"]
    assert specs["preflight"] == specs["main"]


def test_the_common_spec_and_readme_name_every_component():
    components = common_vars()["__common_components"]
    description = " ".join(main_options(COMMON)["orchestrator_components"]["description"])
    assert [c for c in components if "C(%s)" % c not in description] == []
    readme = (ROLES_DIR / COMMON / "README.md").read_text()
    assert [c for c in components if c not in readme] == []


def test_some_role_is_checked():
    assert {"prerequisites", COMMON} <= set(ROLES)
