"""LocalCluster: Store + seed profile + simulated controllers + HTTP server, in one process."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import yaml

from .config import REPO_ROOT, ClusterConfig, Delays, Faults
from .controlplane import kubeconfig
from .server import ApiServer, RequestLog
from .store import Store, kubernetes_version


def _apply_overrides(config: ClusterConfig, overrides: dict) -> ClusterConfig:
    if not overrides:
        return config
    fields = {f.name for f in dataclasses.fields(ClusterConfig)}
    unknown = set(overrides) - fields
    if unknown:
        raise TypeError(f"unknown ClusterConfig fields: {sorted(unknown)}")
    values = dict(overrides)
    for key in ("controllers", "failing_packages", "never_ready", "failing_jobs"):
        if key in values and not isinstance(values[key], frozenset):
            values[key] = frozenset(values[key])
    if "node_architectures" in values:
        values["node_architectures"] = tuple(values["node_architectures"])
    if isinstance(values.get("delays"), dict):
        values["delays"] = Delays(**values["delays"])
    if isinstance(values.get("faults"), dict):
        faults = dict(values["faults"])
        for key in ("error_codes", "methods"):
            if key in faults:
                faults[key] = tuple(faults[key])
        values["faults"] = Faults(**faults)
    return dataclasses.replace(config, **values)


def _minimal_seed(store: Store) -> None:
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, manager="seed")


def _readonly_rbac(store) -> None:
    """The readonly user may get, list and watch everything, and write nothing."""
    store.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                  "metadata": {"name": "orchestrator-test-readonly"},
                  "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
                            {"nonResourceURLs": ["*"], "verbs": ["get"]}]}, manager="cluster-bootstrap")
    store.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                  "metadata": {"name": "orchestrator-test-readonly"},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                              "name": "orchestrator-test-readonly"},
                  "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "readonly"}]},
                 manager="cluster-bootstrap")


# What only the simulated controllers and the clients use: a seeded cluster's storage does not depend on it.
RUNTIME_FIELDS = frozenset({"api", "host", "port", "token", "controllers", "delays", "faults", "controller_interval",
                            "failing_packages", "never_ready", "extra_channels", "failing_jobs", "failing_job_log",
                            "job_log"})
SEEDS = REPO_ROOT / "build" / "controlplane" / "seeds"


@functools.lru_cache(maxsize=None)
def _sources_digest(crds_dir: Path | None) -> bytes:
    """The test cluster's code, the CRD files and the control-plane binary (by size and mtime): read once
    per process, as none of them changes while tests run."""
    from .controlplane import binary

    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    files = sorted(Path(crds_dir).glob("*")) if crds_dir else []
    for path in [binary() or Path("/nonexistent"), *files]:
        stat = path.stat() if path.exists() else None
        digest.update(f"{path}:{stat and stat.st_size}:{stat and stat.st_mtime_ns}".encode())
    return digest.digest()


def seed_key(config: ClusterConfig) -> str:
    """Names the storage of a seeded cluster: the seed's settings, the test cluster's code, the CRDs and
    the control-plane binary."""
    digest = hashlib.sha256(_sources_digest(config.crds_dir))
    settings = {f.name: getattr(config, f.name) for f in dataclasses.fields(ClusterConfig)
                if f.name not in RUNTIME_FIELDS}
    digest.update(repr(sorted(settings.items())).encode())
    return digest.hexdigest()[:20]


def _prune_seeds(unused_for: float = 86400.0) -> None:
    """Remove the seeded storages no cluster started from for a day (older code, older settings)."""
    if not SEEDS.is_dir():
        return
    for path in SEEDS.iterdir():
        try:
            if time.time() - path.stat().st_mtime > unused_for:
                shutil.rmtree(path, ignore_errors=True)
        except FileNotFoundError:
            pass


def _seeded_storage(config: ClusterConfig, tokens: dict) -> Path:
    """etcd's storage after the seed for ``config``, made once (by a control plane started, seeded and
    stopped for it) and copied by every cluster with the same seed: the API server then starts with
    the seed's CRDs and objects, as a restarted cluster does."""
    from .controlplane import ControlPlane
    from .profile import seed_objects
    from .remote import RemoteStore

    dest = SEEDS / seed_key(config)
    if dest.is_dir():
        os.utime(dest)
        return dest
    _prune_seeds()
    plane = ControlPlane(tokens, host=config.host).start()
    try:
        store = RemoteStore(plane.url, config.token, str(plane.pki.ca_cert))
        try:
            if config.readonly_token:
                _readonly_rbac(store)
            seed_objects(store, config)
        finally:
            store.close()
        return plane.save_etcd(dest)
    finally:
        plane.stop()


class LocalCluster:
    """A stand-in OpenShift/Kubernetes API server with simulated controllers."""

    def __init__(self, config: ClusterConfig | None = None, **overrides):
        self.config = _apply_overrides(config or ClusterConfig(), overrides)
        self.store: Store | None = None
        self.requests = RequestLog()
        self.url = ""
        self.manager = None
        self._server: ApiServer | None = None
        self._proxy = None
        self.controlplane = None
        self._tmpdir: tempfile.TemporaryDirectory | None = None
        self.kubeconfig: Path | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "LocalCluster":
        if self.config.api == "real":
            try:
                return self._start_real()
            except BaseException:
                self.stop()
                raise
        self.store = Store(self.config)
        try:
            profile = importlib.import_module(f"{__package__}.profile")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.profile":
                raise
            warnings.warn("tests.cluster.profile is missing: only the system namespaces are seeded")
            _minimal_seed(self.store)
        else:
            profile.seed(self.store, self.config)
        try:
            from .controllers import ControllerManager
        except ImportError as exc:
            raise RuntimeError(f"tests.cluster.controllers.ControllerManager is missing ({exc})") from exc
        self.manager = ControllerManager(self.store, self.config)
        self._server = ApiServer(self.store, self.config, self.requests)
        self.url = self._server.url
        self._server.start()
        self.manager.start()
        return self

    def _start_real(self) -> "LocalCluster":
        """The real control plane, from a copy of a seeded cluster's storage, with the package server
        attached and the fault proxy in front for clients."""
        from .controlplane import ControlPlane
        from .controllers import ControllerManager
        from .profile import attach
        from .proxy import FaultProxy
        from .remote import RemoteStore

        cfg = self.config
        tokens = {cfg.token: ("admin", ("system:masters",))}
        if cfg.readonly_token:
            tokens[cfg.readonly_token] = ("readonly", ())
        self.controlplane = ControlPlane(tokens, host=cfg.host, etcd_data=_seeded_storage(cfg, tokens)).start()
        pki = self.controlplane.pki
        self.store = RemoteStore(self.controlplane.url, cfg.token, str(pki.ca_cert))
        attach(self.store, cfg)
        self.manager = ControllerManager(self.store, cfg)
        self._proxy = FaultProxy(self.controlplane.url, upstream_ca=str(pki.ca_cert), certfile=str(pki.serving_cert),
                                 keyfile=str(pki.serving_key), faults=cfg.faults, log=self.requests,
                                 host=cfg.host, port=cfg.port).start()
        self.url = self._proxy.url
        self.manager.start()
        return self

    def stop(self) -> None:
        if self.manager is not None:
            self.manager.stop()
            self.manager = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._proxy is not None:
            self._proxy.stop()
            self._proxy = None
        if self.controlplane is not None:
            self.store.close()
            self.controlplane.stop()
            self.controlplane = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers

    @property
    def port(self) -> int:
        if self._proxy is not None:
            return self._proxy.port
        return self._server.port if self._server else 0

    @property
    def kubernetes_version(self) -> str:
        """The version the API server reports at /version, without the leading "v"."""
        if self.controlplane is not None:
            return self.store.request("GET", "/version")["gitVersion"].lstrip("v")
        return kubernetes_version(self.config)

    def set_faults(self, faults: Faults | None = None, **fields) -> None:
        """Change fault injection at run time (``Faults()`` or no argument turns it off)."""
        faults = faults or Faults()
        if fields:
            faults = dataclasses.replace(faults, **fields)
        self.config.faults = faults
        if self._server is not None:
            self._server.set_faults(faults)
        if self._proxy is not None:
            self._proxy.set_faults(faults)

    def run_controllers(self, passes: int = 1) -> None:
        """Run the controllers synchronously (on top of their background thread)."""
        for dummy in range(passes):
            self.manager.run_once()

    def write_kubeconfig(self, path, *, token: str | None = None, tls: bool = False) -> Path:
        """Write a kubeconfig (token auth). ``tls=True`` points it at an https listener with a self-signed
        certificate (insecure-skip-tls-verify), for clients such as kubectl that send tokens only over TLS."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.controlplane is not None:
            doc = kubeconfig(self.url, self.controlplane.pki.ca_pem(), token or self.config.token)
        else:
            doc = kubeconfig(self._server.start_tls() if tls else self.url, None, token or self.config.token)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        if self.kubeconfig is None and (not tls or self.controlplane is not None):
            self.kubeconfig = path
        return path

    @property
    def tmpdir(self) -> Path:
        """A private TMPDIR (kubernetes.core keeps its discovery cache there)."""
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="test-cluster-")
        return Path(self._tmpdir.name)

    @property
    def env(self) -> dict:
        """Environment variables for subprocesses that talk to this cluster."""
        if self.kubeconfig is None:
            self.write_kubeconfig(self.tmpdir / "kubeconfig")
        return {"K8S_AUTH_KUBECONFIG": str(self.kubeconfig), "KUBECONFIG": str(self.kubeconfig),
                "TMPDIR": str(self.tmpdir)}

    def subprocess_env(self, **extra) -> dict:
        """os.environ + ``env`` + extra, for subprocess.run."""
        return {**os.environ, **self.env, **extra}
