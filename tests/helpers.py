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


def http(cluster, method: str, path: str, body=None, *, token: str | None = "default",
         content_type: str = "application/json", headers: dict | None = None):
    """One raw request: returns (status, headers, decoded JSON or text)."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(cluster.url)
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
