"""The real Kubernetes control plane of the test cluster: etcd, kube-apiserver and
kube-controller-manager, built from upstream Go modules into one binary
(``make controlplane``, source in tests/cluster/controlplane/) and started here as
three processes of that binary.

The API server serves HTTPS only, with a CA made for this cluster (pki.py), static
token authentication (the admin token is in group ``system:masters``), RBAC,
service-account tokens signed with the cluster's own key, and the admission
plugins a default kube-apiserver enables. The controller manager runs the
namespace, garbage-collection, service-account, token, Deployment, ReplicaSet,
StatefulSet and Job controllers (and the rest of its defaults, except the node
lifecycle and node IPAM controllers: the node is simulated).
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from .config import REPO_ROOT
from .pki import Pki, make_pki

BINARY_ENV = "ORCHESTRATOR_TEST_CONTROLPLANE"
DEFAULT_BINARY = REPO_ROOT / "build" / "controlplane" / "controlplane"
KUBERNETES_VERSION = "1.37.2"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
SERVICE_CIDR = "10.96.0.0/16"
START_TIMEOUT = 90.0


def binary() -> Path | None:
    """The control-plane binary: $ORCHESTRATOR_TEST_CONTROLPLANE, else build/controlplane/controlplane."""
    path = Path(os.environ.get(BINARY_ENV) or DEFAULT_BINARY)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def kubeconfig(server: str, ca_pem: bytes | None, token: str, *, user: str = "test-user",
               namespace: str = "default") -> dict:
    """A kubeconfig for ``server`` with a bearer token: the CA inline, or, without one (the Python API
    server's self-signed TLS listener), insecure-skip-tls-verify."""
    if ca_pem is not None:
        cluster = {"server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()}
    else:
        cluster = {"server": server, **({"insecure-skip-tls-verify": True} if server.startswith("https:") else {})}
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "test-cluster", "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test-cluster", "user": user, "namespace": namespace}}],
        "current-context": "test",
    }


class ControlPlane:
    """Three processes of the control-plane binary, in a private folder removed at stop."""

    def __init__(self, tokens: dict[str, tuple[str, tuple[str, ...]]], *, host: str = "127.0.0.1",
                 port: int = 0, path: Path | None = None, etcd_data: Path | None = None):
        self.binary = path or binary()
        if self.binary is None:
            raise RuntimeError(f"the control-plane binary is not built ({DEFAULT_BINARY}): run `make controlplane`")
        self.tokens = tokens
        self.host = host
        self.port = port or free_port(host)
        self.folder = Path(tempfile.mkdtemp(prefix="controlplane-"))
        self.pki: Pki | None = None
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.controller_token = os.urandom(16).hex()
        self.etcd_data = etcd_data

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([str(self.binary), name, *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.processes.append((name, proc))
        return proc

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.folder / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _write_tokens(self) -> Path:
        rows = [f'{self.controller_token},{CONTROLLER_MANAGER_USER},{CONTROLLER_MANAGER_USER},""']
        for token, (user, groups) in self.tokens.items():
            rows.append(f'{token},{user},{user},"{",".join(groups)}"')
        path = self.folder / "tokens.csv"
        path.write_text("\n".join(rows) + "\n")
        path.chmod(0o600)
        return path

    def start(self) -> "ControlPlane":
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.pki = make_pki(self.folder / "pki", hosts=(self.host, "localhost"))
        client, peer = free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{client}"
        if self.etcd_data is not None:  # a copy of a stopped cluster's storage: etcd keeps its membership
            shutil.copytree(self.etcd_data, self.folder / "etcd")
        self._spawn("etcd", [
            "--name=test", f"--data-dir={self.folder / 'etcd'}", f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}", f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=test=http://127.0.0.1:{peer}", "--unsafe-no-fsync", "--log-level=error",
            "--quota-backend-bytes=2147483648"])
        pki = self.pki
        self._spawn("kube-apiserver", [
            f"--etcd-servers={etcd_url}", f"--bind-address={self.host}", f"--advertise-address={self.host}",
            f"--secure-port={self.port}", f"--cert-dir={self.folder / 'certs'}",
            f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}", f"--token-auth-file={self._write_tokens()}",
            "--authorization-mode=RBAC", "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={pki.sa_pub}", f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--endpoint-reconciler-type=none",
            "--allow-privileged=true", "--profiling=false", "--enable-priority-and-fairness=true",
            "--watch-cache=true", "--kubelet-preferred-address-types=InternalIP", "--v=0"])
        self._wait_ready()
        config = self.folder / "controller-manager.kubeconfig"
        config.write_text(yaml.safe_dump(kubeconfig(self.url, pki.ca_pem(), self.controller_token,
                                                    user=CONTROLLER_MANAGER_USER)))
        self._spawn("kube-controller-manager", [
            f"--kubeconfig={config}", "--leader-elect=false", "--secure-port=0",
            "--controllers=*,-node-lifecycle-controller,-node-ipam-controller",
            f"--service-account-private-key-file={pki.sa_key}", f"--root-ca-file={pki.ca_cert}",
            "--use-service-account-credentials=true", "--concurrent-gc-syncs=5",
            "--namespace-sync-period=10s", "--v=0"])

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki.ca_cert))

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        token = next(iter(self.tokens))
        context = self.context()
        last = ""
        while time.monotonic() < deadline:
            for name, proc in self.processes:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
            req = urllib.request.Request(self.url + "/readyz", headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(req, context=context, timeout=5) as resp:
                    if resp.status == 200:
                        return
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise RuntimeError(f"kube-apiserver not ready after {START_TIMEOUT:.0f} s ({last}):\n"
                           f"{self.log_tail('kube-apiserver')}")

    def save_etcd(self, dest: Path) -> Path:
        """Stop the processes and keep a copy of etcd's storage at ``dest`` (made whole or not at all:
        written beside it, then renamed; a copy another process made first wins); ``stop`` still
        removes the folder."""
        self._terminate()
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
        shutil.copytree(self.folder / "etcd", staging / "etcd")
        try:
            os.rename(staging / "etcd", dest)
        except OSError:
            if not dest.is_dir():
                raise
        shutil.rmtree(staging, ignore_errors=True)
        return dest

    def running(self) -> bool:
        return bool(self.processes) and all(proc.poll() is None for dummy, proc in self.processes)

    def _terminate(self) -> None:
        """Kill the API server and the controller manager (nothing of theirs is kept), then stop etcd
        cleanly so that its storage can be copied."""
        for name, proc in self.processes:
            if name != "etcd" and proc.poll() is None:
                proc.kill()
        for name, proc in self.processes:
            if name == "etcd" and proc.poll() is None:
                proc.terminate()
        for name, proc in self.processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes.clear()

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.folder, ignore_errors=True)
