"""The collection builds with ansible-galaxy and works once installed from the tarball."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FORBIDDEN_PREFIXES = (".venv/", "build/", "tests/output/", ".git/", ".pytest_cache/")
MARKER = "option_set_only_by_the_group"
PLAY = f"""
- name: Module defaults reach every module of the action group
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/parodos.orchestrator.k8s:
      {MARKER}: 1
  tasks:
    - name: A kubernetes.core module that has an action plugin
      kubernetes.core.k8s_info:
        kind: Namespace
      register: from_k8s_info
      failed_when: false
    - name: A kubernetes.core module that is not in kubernetes.core's own group
      kubernetes.core.k8s_json_patch:
        kind: Namespace
        name: default
        patch: []
      register: from_k8s_json_patch
      failed_when: false
    - name: The collection's own module
      parodos.orchestrator.preflight:
      register: from_preflight
      failed_when: false
    - name: Save what each module answered
      ansible.builtin.copy:
        dest: "{{{{ playbook_dir }}}}/results.json"
        mode: "0644"
        content: "{{{{ {{'k8s_info': from_k8s_info, 'k8s_json_patch': from_k8s_json_patch,
                      'preflight': from_preflight}} | to_json }}}}"
"""


def run(args, env=None, cwd=None):
    """Run a command from the venv; fail the test with its output on error."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    """Build the collection tarball from the checkout."""
    out = tmp_path_factory.mktemp("dist")
    run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(REPO_ROOT)])
    (built,) = out.glob("parodos-orchestrator-*.tar.gz")
    return built


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory):
    """Install the tarball offline into a fresh collections path; return an env using only it."""
    path = tmp_path_factory.mktemp("collections")
    # Only the new path: a collection found elsewhere (the checkout's link) would
    # make ansible-galaxy skip the install as already done.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(path), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p", str(path), str(tarball)], env=env)
    return path, env


def test_tarball_holds_the_collection_and_no_local_state(tarball):
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "MANIFEST.json" in names
    assert "meta/runtime.yml" in names
    assert "plugins/modules/preflight.py" in names
    leaked = [n for n in names if n.startswith(FORBIDDEN_PREFIXES) or "/__pycache__/" in f"/{n}/"]
    assert leaked == []


def test_installed_tarball_is_the_collection_ansible_finds(installed):
    path, env = installed
    assert (path / "ansible_collections" / "parodos" / "orchestrator" / "MANIFEST.json").is_file()
    docs = json.loads(run([str(BIN / "ansible-doc"), "--json", "parodos.orchestrator.preflight"], env=env, cwd=path))
    doc = docs["parodos.orchestrator.preflight"]["doc"]
    assert doc["module"] == "preflight"
    assert doc["collection"] == "parodos.orchestrator"
    assert Path(doc["filename"]).resolve().is_relative_to(path.resolve())


def test_module_defaults_group_reaches_k8s_modules_and_preflight(installed, tmp_path):
    path, env = installed
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", str(play)],
        env=env,
        cwd=tmp_path,
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert sorted(results) == ["k8s_info", "k8s_json_patch", "preflight"]
    for name, result in results.items():
        # Each module rejects the unknown option, so each one was given it by the group.
        assert "Unsupported parameters" in result["msg"] and MARKER in result["msg"], f"{name}: {result}"
