"""Run the test cluster: ``python -m tests.cluster --kubeconfig PATH [options]``."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from pathlib import Path

from .config import APIS, CONTROLLERS, ClusterConfig, Delays, Faults, default_api
from .cluster import LocalCluster


def build_config(args: argparse.Namespace) -> ClusterConfig:
    delays = Delays()
    for item in args.delay:
        name, dummy, value = item.partition("=")
        name = name.replace("-", "_")
        if not hasattr(delays, name) or not value:
            raise SystemExit(f"--delay: unknown or malformed {item!r}; names: "
                             + ", ".join(f.name for f in dataclasses.fields(Delays)))
        setattr(delays, name, float(value))
    unknown = set(args.disable_controller) - set(CONTROLLERS)
    if unknown:
        raise SystemExit(f"--disable-controller: unknown {sorted(unknown)}; names: {', '.join(CONTROLLERS)}")
    values = dict(
        api=args.api, port=args.port, profile=args.profile, olm=not args.no_olm,
        default_storage_class=not args.no_default_storage_class, gitops=args.gitops,
        node_architectures=tuple(a.strip() for a in args.arch.split(",") if a.strip()),
        controllers=frozenset(CONTROLLERS) - set(args.disable_controller), delays=delays,
        faults=Faults(error_rate=args.error_rate, drop_rate=args.drop_rate, latency=args.latency),
        failing_packages=frozenset(args.fail_package), never_ready=frozenset(args.never_ready),
        failing_jobs=frozenset(args.fail_job), extra_catalogs=tuple(args.extra_catalog),
    )
    if args.openshift_version:
        values["openshift_version"] = args.openshift_version
    if args.crds:
        values["crds_dir"] = Path(args.crds)
    return ClusterConfig(**values)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.cluster", description=__doc__)
    p.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig")
    p.add_argument("--api", choices=APIS, default=default_api(),
                   help="real: kube-apiserver, etcd and kube-controller-manager (make controlplane); "
                        "python: the in-process server (default: $ORCHESTRATOR_TEST_API, else real once built, "
                        "else python)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--profile", choices=("openshift", "kubernetes"), default="openshift")
    p.add_argument("--openshift-version", default="")
    p.add_argument("--arch", default="amd64", help="node architectures, comma separated")
    p.add_argument("--no-olm", action="store_true")
    p.add_argument("--no-default-storage-class", action="store_true")
    p.add_argument("--gitops", action="store_true")
    p.add_argument("--crds", default="", help="folder of upstream CRDs")
    p.add_argument("--delay", action="append", default=[], metavar="NAME=SECONDS")
    p.add_argument("--fail-package", action="append", default=[], metavar="PKG")
    p.add_argument("--never-ready", action="append", default=[], metavar="KIND[/NAME]")
    p.add_argument("--fail-job", action="append", default=[], metavar="NAME",
                   help="Job (by name) whose Pod fails; repeatable")
    p.add_argument("--extra-catalog", action="append", default=[], metavar="NAME",
                   help="another READY CatalogSource offering the same packages; repeatable")
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--disable-controller", action="append", default=[], metavar="NAME")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cluster = LocalCluster(build_config(args)).start()
    done = threading.Event()

    def _stop(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        path = cluster.write_kubeconfig(args.kubeconfig)
        print(f"test cluster ready at {cluster.url} (kubeconfig {path})", flush=True)
        while not done.wait(0.5):
            pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
