"""Helpers for tests that drive the collection against the local test cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
COLLECTIONS_DIR = REPO_ROOT / "build" / "collections"


def collections_path() -> Path:
    """build/collections with ansible_collections/parodos/orchestrator -> repo root (created if missing)."""
    link = COLLECTIONS_DIR / "ansible_collections" / "parodos" / "orchestrator"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(REPO_ROOT, target_is_directory=True)
        except FileExistsError:
            pass
    return COLLECTIONS_DIR


def ansible_env(cluster, **extra) -> dict:
    """Environment for ansible-playbook/molecule against ``cluster``."""
    env = dict(os.environ)
    env.update(cluster.env)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(collections_path()),
                                                     env.get("ANSIBLE_COLLECTIONS_PATH", "")]).rstrip(os.pathsep),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_LOCAL_TEMP": str(cluster.tmpdir / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(cluster.tmpdir / "ansible-remote"),
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    })
    env.update(extra)
    return env


def run_playbook(cluster, playbook, extra_vars: dict | None = None, *, check: bool = False,
                 args: tuple[str, ...] = (), timeout: float = 300) -> subprocess.CompletedProcess:
    """Run .venv's ansible-playbook on localhost against ``cluster``; playbook is a path or a list of plays."""
    if not isinstance(playbook, (str, Path)):
        path = cluster.tmpdir / f"play-{abs(hash(json.dumps(playbook, sort_keys=True, default=str)))}.yml"
        path.write_text(yaml.safe_dump(playbook, sort_keys=False))
        playbook = path
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    cmd += list(args)
    return subprocess.run(cmd, env=ansible_env(cluster), capture_output=True, text=True, timeout=timeout,
                          cwd=str(REPO_ROOT), check=False)


def play_recap(stdout: str) -> dict:
    """ok/changed/failed counts of the localhost line of PLAY RECAP."""
    for line in stdout.splitlines():
        if line.startswith("localhost") and "ok=" in line:
            return {k: int(v) for k, v in (p.split("=") for p in line.split(":", 1)[1].split())}
    return {}


def require_controlplane() -> None:
    """Fail in CI, skip elsewhere, when the real control plane is not built."""
    import pytest

    from tests.cluster.controlplane import DEFAULT_BINARY, binary

    if binary() is None:
        if os.environ.get("CI"):
            pytest.fail(f"the control plane is not built ({DEFAULT_BINARY}); `make test` builds it")
        pytest.skip("the control plane is not built: run `make controlplane`")


def http(cluster, method: str, path: str, body=None, *, token: str | None = "default",
         content_type: str = "application/json", headers: dict | None = None):
    """One raw request: returns (status, headers, decoded JSON or text)."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(cluster.url)
    if url.scheme == "https":
        conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=30, context=cluster.controlplane.context())
    else:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    hdrs = {"Accept": "application/json", **(headers or {})}
    if token == "default":
        token = cluster.config.token
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        hdrs["Content-Type"] = content_type
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read().decode()
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = raw
        return resp.status, resp.headers, payload
    finally:
        conn.close()


def run_module(cluster, tmp_path, module: str, args: dict, *, check: bool = False, diff: bool = False,
               verbose: bool = False, extra_vars: dict | None = None, before: tuple | list = ()):
    """Run parodos.orchestrator.<module> once (its failure kept in the result); return (output, result).

    ``before`` are tasks run ahead of the module in the same play; the registered result is read back
    from a file in ``tmp_path``. The run itself must succeed and show no Traceback.
    """
    result_file = tmp_path / "result.json"
    result_file.unlink(missing_ok=True)
    play = [{
        "name": module, "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [*before,
                  {"name": "Run " + module, "parodos.orchestrator." + module: args, "register": "module_result",
                   "ignore_errors": True},
                  {"name": "Save the result", "check_mode": False, "changed_when": False,
                   "ansible.builtin.copy": {"dest": str(result_file), "mode": "0600",
                                            "content": "{{ module_result | to_json }}"}}],
    }]
    flags = (("-vvv",) if verbose else ()) + (("--diff",) if diff else ())
    proc = run_playbook(cluster, play, extra_vars, check=check, args=flags)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Traceback" not in output, output
    return output, json.loads(result_file.read_text())


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def writes(cluster, *, dry_run: bool | None = False, since: int = 0, reviews: bool = False) -> list:
    """(method, path) of the logged requests that could change the cluster, from entry ``since`` on.

    ``dry_run``: False for real writes only, True for dryRun=All ones only, None for both.
    SelfSubjectAccessReviews store nothing and are left out unless ``reviews``.
    """
    return [(e.method, e.path) for e in cluster.requests.entries[since:]
            if e.method in WRITE_METHODS and (dry_run is None or ("dryRun=All" in e.query) == dry_run)
            and (reviews or not e.path.endswith("/selfsubjectaccessreviews"))]
