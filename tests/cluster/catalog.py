"""The operator catalog served by the simulated ``redhat-operators`` CatalogSource.

Per package: its channels (CSV entries oldest first, the last one is the
channel head), the default channel, the CRDs the operator owns, the
Deployments its CSV installs and the install modes it supports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INSTALL_MODES = ("OwnNamespace", "SingleNamespace", "MultiNamespace", "AllNamespaces")


@dataclass(frozen=True)
class Entry:
    """One channel entry: a CSV, its version and the CSV it replaces."""

    name: str
    version: str
    replaces: str | None = None


@dataclass
class Package:
    name: str
    display_name: str
    provider: str
    default_channel: str
    channels: dict[str, list[Entry]]
    crds: tuple[str, ...]
    deployments: tuple[str, ...]
    image: str
    install_modes: dict[str, bool] = field(
        default_factory=lambda: {"OwnNamespace": False, "SingleNamespace": False, "MultiNamespace": False,
                                 "AllNamespaces": True})

    def head(self, channel: str) -> Entry:
        return self.channels[channel][-1]

    def entry(self, csv: str, channel: str | None = None) -> Entry | None:
        """The entry named ``csv`` (in ``channel``, or in any channel)."""
        for name, entries in self.channels.items():
            if channel and name != channel:
                continue
            for ent in entries:
                if ent.name == csv:
                    return ent
        return None

    def successor(self, channel: str, csv: str) -> Entry | None:
        """The entry of ``channel`` that replaces ``csv``, if any."""
        for ent in self.channels.get(channel, []):
            if ent.replaces == csv:
                return ent
        return None


def version_of(csv: str) -> str:
    """``rhdh-operator.v1.4.1`` -> ``1.4.1``."""
    ver = csv.rpartition(".v")[2]
    return ver or "0.0.0"


def _chain(prefix: str, versions: list[str], first_replaces: str | None = None) -> list[Entry]:
    out, prev = [], first_replaces
    for ver in versions:
        name = f"{prefix}.v{ver}"
        out.append(Entry(name, ver, prev))
        prev = name
    return out


def _base() -> dict[str, Package]:
    so = "serverless-operator"
    so_133 = _chain(so, ["1.33.0", "1.33.2"])
    so_134 = _chain(so, ["1.34.0", "1.34.1"], first_replaces=f"{so}.v1.33.2")
    logic = "logic-operator-rhel8"
    rhdh = "rhdh-operator"
    rhdh_13 = _chain(rhdh, ["1.3.0", "1.3.1"])
    rhdh_14 = _chain(rhdh, ["1.4.0", "1.4.1"], first_replaces=f"{rhdh}.v1.3.1")
    gitops = "openshift-gitops-operator"
    pipes = "openshift-pipelines-operator-rh"
    all_modes = {"OwnNamespace": True, "SingleNamespace": True, "MultiNamespace": False, "AllNamespaces": True}
    packages = [
        Package(
            name=so, display_name="Red Hat OpenShift Serverless", provider="Red Hat",
            default_channel="stable",
            channels={"stable": so_133 + so_134, "stable-1.33": so_133, "stable-1.34": so_134},
            crds=("knativeservings.operator.knative.dev", "knativeeventings.operator.knative.dev"),
            deployments=("knative-openshift", "knative-openshift-ingress", "knative-operator-webhook"),
            image="registry.redhat.io/openshift-serverless-1/serverless-openshift-rhel8-operator"),
        Package(
            name=logic, display_name="OpenShift Serverless Logic Operator", provider="Red Hat",
            default_channel="alpha",
            channels={"alpha": _chain(logic, ["1.33.0", "1.34.0", "1.35.0"])},
            crds=("sonataflowplatforms.sonataflow.org", "sonataflowclusterplatforms.sonataflow.org",
                  "sonataflows.sonataflow.org"),
            deployments=(f"{logic}-controller-manager",),
            image="registry.redhat.io/openshift-serverless-1/logic-rhel8-operator",
            install_modes=dict(all_modes)),
        Package(
            name="rhdh", display_name="Red Hat Developer Hub", provider="Red Hat",
            default_channel="fast",
            channels={"fast": rhdh_13 + rhdh_14, "fast-1.3": rhdh_13, "fast-1.4": rhdh_14},
            crds=("backstages.rhdh.redhat.com",),
            deployments=("rhdh-operator",),
            image="registry.redhat.io/rhdh/rhdh-rhel9-operator"),
        Package(
            name=gitops, display_name="Red Hat OpenShift GitOps", provider="Red Hat",
            default_channel="latest",
            channels={"latest": _chain(gitops, ["1.14.0", "1.14.1"]),
                      "gitops-1.14": _chain(gitops, ["1.14.0", "1.14.1"])},
            crds=("argocds.argoproj.io", "appprojects.argoproj.io"),
            deployments=(f"{gitops}-controller-manager",),
            image="registry.redhat.io/openshift-gitops-1/gitops-rhel8-operator"),
        Package(
            name=pipes, display_name="Red Hat OpenShift Pipelines", provider="Red Hat",
            default_channel="latest",
            channels={"latest": _chain(pipes, ["1.16.0", "1.16.1"]),
                      "pipelines-1.16": _chain(pipes, ["1.16.0", "1.16.1"])},
            crds=("tasks.tekton.dev", "pipelines.tekton.dev"),
            deployments=("openshift-pipelines-operator", "tekton-operator-webhook"),
            image="registry.redhat.io/openshift-pipelines/pipelines-rhel8-operator"),
    ]
    return {p.name: p for p in packages}


def operator_catalog(extra_channels: dict[str, dict[str, str]] | None = None) -> dict[str, Package]:
    """The catalog, with ``extra_channels`` ({package: {channel: csv}}) added.

    An extra CSV becomes the new head of its channel (replacing the old head);
    a new channel holds just that CSV; an unknown package is added with an
    operator Deployment named ``<package>-operator``.
    """
    packages = _base()
    for pkg_name, channels in (extra_channels or {}).items():
        pkg = packages.get(pkg_name)
        if pkg is None:
            first = next(iter(channels), "stable")
            pkg = Package(name=pkg_name, display_name=pkg_name, provider="Red Hat", default_channel=first,
                          channels={}, crds=(), deployments=(f"{pkg_name}-operator",),
                          image=f"registry.redhat.io/{pkg_name}/{pkg_name}-operator")
            packages[pkg_name] = pkg
        for channel, csv in channels.items():
            entries = pkg.channels.setdefault(channel, [])
            if any(e.name == csv for e in entries):
                continue
            replaces = entries[-1].name if entries else None
            entries.append(Entry(csv, version_of(csv), replaces))
    return packages
