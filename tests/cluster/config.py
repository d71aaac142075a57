"""Settings of the local test cluster.

One ``ClusterConfig`` describes everything that can be varied when the test
cluster starts: which profile it imitates, which simulated controllers run and
how slowly, and which faults it injects. The command line (``python -m
tests.cluster``) and the pytest fixture both build one of these.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Environment variable naming the folder of upstream CRDs.
CRDS_ENV = "ORCHESTRATOR_TEST_CRDS"

# Names of the simulated controllers that can be switched off one by one.
CONTROLLERS = (
    "namespace",  # namespace termination (deletes content, then the namespace)
    "garbage-collector",  # ownerReferences cascade
    "serviceaccount",  # default ServiceAccount, kube-root-ca.crt, token Secrets
    "workloads",  # Deployments, StatefulSets, Jobs become ready
    "olm",  # Subscription -> InstallPlan -> CSV -> CRDs and operator Deployment
    "knative",  # KnativeServing / KnativeEventing -> Ready
    "sonataflow",  # SonataFlowPlatform / SonataFlowClusterPlatform -> Succeed
    "rhdh",  # Backstage -> Deployed
    "gitops",  # ArgoCD -> Route, Secret, Available; OpenShift Pipelines -> the buildah Task
)


# Environment variable choosing the API server: "real" (the control plane of controlplane.py, the
# default once built) or "python" (server.py).
API_ENV = "ORCHESTRATOR_TEST_API"
APIS = ("real", "python")


def default_api() -> str:
    """$ORCHESTRATOR_TEST_API, else "real" once the control plane is built (`make controlplane`), else
    "python"."""
    from .controlplane import binary

    return os.environ.get(API_ENV) or ("real" if binary() else "python")


def default_crds_dir() -> Path | None:
    """Folder of upstream CRDs: $ORCHESTRATOR_TEST_CRDS, else ../shared/crds."""
    env = os.environ.get(CRDS_ENV)
    if env:
        return Path(env) if Path(env).is_dir() else None
    candidate = REPO_ROOT.parent / "shared" / "crds"
    return candidate if candidate.is_dir() else None


@dataclass
class Delays:
    """Seconds each simulated step takes (0 = at the next controller pass)."""

    # OLM: Subscription seen -> InstallPlan created; InstallPlan approved ->
    # CSV Succeeded (CRDs registered and operator Deployment Available).
    olm_resolve: float = 0.0
    olm_install: float = 0.0
    # Custom resource created -> ready (Knative Ready, SonataFlow Succeed,
    # Backstage Deployed), per operator.
    knative: float = 0.0
    sonataflow: float = 0.0
    rhdh: float = 0.0
    # Deployment / StatefulSet / Job (re)created -> ready or complete.
    workloads: float = 0.0


@dataclass
class Faults:
    """Fault injection on the HTTP API (controllers are never affected)."""

    # Share (0..1) of requests answered with an error code drawn from
    # ``error_codes`` (500, 503 or 429; 429 and 503 carry Retry-After).
    error_rate: float = 0.0
    error_codes: tuple[int, ...] = (500, 503, 429)
    # Share (0..1) of requests whose connection is closed without an answer.
    drop_rate: float = 0.0
    # Seconds added to every request.
    latency: float = 0.0
    # Seed for the random draws, so that a test run is repeatable.
    seed: int = 0
    # Only requests whose method is in this set are affected (empty = all).
    methods: tuple[str, ...] = ()


@dataclass
class ClusterConfig:
    """Everything that shapes one test cluster."""

    # Which API server: "real" (kube-apiserver, etcd and kube-controller-manager) or "python".
    api: str = field(default_factory=default_api)
    host: str = "127.0.0.1"
    port: int = 0  # 0 = a free port
    token: str = "orchestrator-test-token"
    # A second token that may read but not write (SelfSubjectAccessReview says
    # allowed=false for writes, and writes get 403 Forbidden).
    readonly_token: str = "orchestrator-readonly-token"

    # "openshift" (ClusterVersion, Ingress, Routes, OLM, marketplace) or
    # "kubernetes" (none of the OpenShift APIs; OLM only with ``olm``).
    profile: str = "openshift"
    openshift_version: str = "4.16.8"
    kubernetes_version: str = "1.29.7"
    cluster_domain: str = "apps.orchestrator.test"
    # Node architectures, one node each: ("amd64",), ("arm64",), ("amd64", "arm64").
    node_architectures: tuple[str, ...] = ("amd64",)
    olm: bool = True
    default_storage_class: bool = True
    catalog_source: str = "redhat-operators"
    catalog_ready: bool = True
    # More READY CatalogSources in the marketplace namespace offering the same
    # packages (e.g. ("community-operators",)). The package server then lists
    # one PackageManifest per catalog and package, all named after the package
    # and told apart by their ``catalog`` label; a GET by name answers with one
    # of them, as a real package server does: here the first extra catalog's.
    extra_catalogs: tuple[str, ...] = ()
    # Gitops pieces made beforehand by the user: ArgoCD/AppProject and Tekton
    # CRDs, the ArgoCD namespace with an ArgoCD instance, its Route and Secret.
    gitops: bool = False
    argocd_namespace: str = "orchestrator-gitops"
    argocd_instance: str = "argocd"

    crds_dir: Path | None = field(default_factory=default_crds_dir)

    controllers: frozenset[str] = frozenset(CONTROLLERS)
    delays: Delays = field(default_factory=Delays)
    faults: Faults = field(default_factory=Faults)
    # Seconds between two passes of the simulated controllers.
    controller_interval: float = 0.05

    # Operator packages whose CSV goes to phase Failed instead of Succeeded.
    failing_packages: frozenset[str] = frozenset()
    # Custom resources that never become ready, as "Kind" or "Kind/name"
    # (e.g. "KnativeServing", "Backstage/backstage").
    never_ready: frozenset[str] = frozenset()
    # Extra channels/CSVs per package on top of the built-in catalog, e.g.
    # {"rhdh": {"fast-1.4": "rhdh-operator.v1.4.0"}}.
    extra_channels: dict[str, dict[str, str]] = field(default_factory=dict)
    # Jobs (by name) whose Pod fails: status.failed 1 and condition Failed
    # (BackoffLimitExceeded); the Pod's log is ``failing_job_log``.
    failing_jobs: frozenset[str] = frozenset()
    failing_job_log: str = ('psql: error: connection to server at "sonataflow-psql-postgresql.sonataflow-infra.svc" '
                            '(172.30.0.10), port 5432 failed: FATAL:  password authentication failed for user '
                            '"sonataflow"\n')
    # What the Pod of a Job that completes logs.
    job_log: str = ""

    def controller_enabled(self, name: str) -> bool:
        return name in self.controllers
