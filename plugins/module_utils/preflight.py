# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Preflight checks for an Orchestrator install.

The decisions are pure functions over two plain dicts: ``settings`` (what the
caller asked for, the module parameters) and ``observations`` (what the
cluster showed, gathered once by ``gather``). Nothing here writes to the cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s, olm, olm_install
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import (
    ApiError,
    api_path,
    read,
    unreachable,
)

OLM_GROUP = "operators.coreos.com"
# Served group version -> OLM resources its discovery document must list.
OLM_APIS = {
    OLM_GROUP + "/v1alpha1": ("subscriptions", "clusterserviceversions"),
    OLM_GROUP + "/v1": ("operatorgroups",),
}
OLM_CRDS = (
    "subscriptions.operators.coreos.com",
    "operatorgroups.operators.coreos.com",
    "clusterserviceversions.operators.coreos.com",
)
# CRD name -> API version that must be served.
GITOPS_CRDS = {"appprojects.argoproj.io": "v1alpha1"}
TEKTON_CRDS = {"tasks.tekton.dev": "v1", "pipelines.tekton.dev": "v1"}
ARGOCD_CRD = "argocds.argoproj.io"
DEFAULT_SC_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)
ARCH_LABEL = "kubernetes.io/arch"

CLUSTERVERSION_PATH = "/apis/config.openshift.io/v1/clusterversions/version"
INGRESS_PATH = "/apis/config.openshift.io/v1/ingresses/cluster"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
SUBSCRIPTIONS_PATH = "/apis/" + OLM_GROUP + "/v1alpha1/subscriptions"
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

_VERSION_RE = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")
VERSION_STRING_RE = r"^\d+(\.\d+){0,2}$"


# ---------------------------------------------------------------- versions


def parse_version(text):
    """Return the numeric (major, minor, patch) of a version string.

    Leading ``v`` and any suffix (``-rc.1``, ``+build``) are ignored; missing
    parts are not padded. Raises ValueError when there is no number.
    """
    match = _VERSION_RE.match(str(text or "").strip())
    if not match:
        raise ValueError("not a version: %r" % (text,))
    return tuple(int(part) for part in match.groups() if part is not None)


def version_in_range(version, minimum, maximum=""):
    """Whether ``version`` is at least ``minimum`` and at most ``maximum``.

    An empty bound is open. The maximum is compared at its own precision,
    so a maximum of ``4.16`` accepts every ``4.16.z``.
    """
    current = parse_version(version)
    if minimum:
        low = parse_version(minimum)
        if _pad(current, len(low)) < low:
            return False
    if maximum:
        high = parse_version(maximum)
        if _pad(current, len(high))[: len(high)] > high:
            return False
    return True


def _pad(version, size):
    return tuple(version) + (0,) * max(0, size - len(version))


def completed_version(cluster_version):
    """The newest ``Completed`` version in a ClusterVersion's status.history."""
    history = ((cluster_version or {}).get("status") or {}).get("history") or []
    for entry in history:
        if entry.get("state") == "Completed" and entry.get("version"):
            return entry["version"]
    return None


def describe_range(minimum, maximum):
    """Human text for an accepted version range."""
    if minimum and maximum:
        return "%s to %s" % (minimum, maximum)
    if maximum:
        return "up to %s" % maximum
    return "%s or newer" % (minimum or "any")


# ---------------------------------------------------------------- settings


def normalize_settings(params):
    """Settings with every key present and defaults filled in."""
    params = params or {}
    access = []
    for item in params.get("write_access") or []:
        access.append(
            {
                "verb": item.get("verb") or "create",
                "resource": item["resource"],
                "group": item.get("group") or "",
            }
        )
    return {
        "write_access": access,
        "openshift_min_version": str(params.get("openshift_min_version") or ""),
        "openshift_max_version": str(params.get("openshift_max_version") or ""),
        "require_default_storage_class": bool(
            params.get("require_default_storage_class", True)
        ),
        "supported_architectures": list(
            params.get("supported_architectures") or []
        ),
        "catalog_source": params.get("catalog_source") or "",
        "catalog_source_namespace": params.get("catalog_source_namespace") or "",
        "packages": [
            {"name": p["name"], "channel": p.get("channel") or ""}
            for p in params.get("packages") or []
        ],
        "gitops": bool(params.get("gitops")),
        "tekton": bool(params.get("tekton")),
        "argocd_namespace": params.get("argocd_namespace") or "",
        "argocd_instance": params.get("argocd_instance") or "",
    }


def settings_errors(settings):
    """Mistakes in the settings themselves (not in the cluster)."""
    errors = []
    for key in ("openshift_min_version", "openshift_max_version"):
        value = settings.get(key)
        if value and not re.match(VERSION_STRING_RE, value):
            errors.append("%s must look like 4.13 or 4.13.2, got %r" % (key, value))
    low, high = settings.get("openshift_min_version"), settings.get(
        "openshift_max_version"
    )
    if not errors and low and high and parse_version(high) < parse_version(low)[
        : len(parse_version(high))
    ]:
        errors.append(
            "openshift_max_version %s is lower than openshift_min_version %s"
            % (high, low)
        )
    if settings.get("packages") and not settings.get("catalog_source"):
        errors.append("catalog_source is required when packages are checked")
    if settings.get("gitops") and not settings.get("argocd_namespace"):
        errors.append("argocd_namespace is required when gitops is enabled")
    return errors


def crds_to_check(settings):
    """CRD name -> required served version (None = any), given the settings.

    OLM is not among them: it is checked through its API discovery documents.
    """
    crds = {}
    if settings.get("gitops"):
        crds.update(GITOPS_CRDS)
        crds[ARGOCD_CRD] = None
        if settings.get("tekton"):
            crds.update(TEKTON_CRDS)
    return crds


def applicable_checks(settings):
    """Names of the checks that the settings ask for, in report order.

    Package and catalog checks additionally depend on OLM being present (see
    ``evaluate``); the per-package checks are named ``package/<name>``.
    """
    names = ["api"]
    if settings.get("write_access"):
        names.append("write_access")
    names += ["openshift", "openshift_version", "cluster_domain", "olm"]
    if settings.get("require_default_storage_class"):
        names.append("default_storage_class")
    if settings.get("supported_architectures"):
        names.append("architecture")
    if settings.get("packages"):
        names.append("catalog_source")
        names += ["package/" + p["name"] for p in settings["packages"]]
    if settings.get("tekton") and not settings.get("gitops"):
        names.append("tekton_needs_gitops")
    if settings.get("gitops"):
        names += ["gitops_crds", "argocd_instance"]
    return names


# ---------------------------------------------------------------- evaluation


def check(name, passed, message, hint=""):
    """One check result."""
    return {"name": name, "passed": bool(passed), "message": message,
            "hint": "" if passed else hint}


def _access_text(item):
    resource = item["resource"]
    if item.get("group"):
        resource += "." + item["group"]
    return "%s %s" % (item["verb"], resource)


def check_api(obs):
    api_url = obs.get("api_url") or "(unknown)"
    error = obs.get("error")
    if not error:
        return check("api", True, "The API server at %s answers (Kubernetes %s)."
                     % (api_url, obs.get("kubernetes_version") or "unknown"))
    status = obs.get("error_status") or 0
    if status == 401:
        return check(
            "api", False,
            "The API server at %s rejected the credentials (401 Unauthorized)." % api_url,
            "Log in again (oc login) or pass a valid token in orchestrator_api_key "
            "(or K8S_AUTH_API_KEY).",
        )
    return check(
        "api", False,
        unreachable(api_url, error),
        "Check that the cluster is up and that orchestrator_kubeconfig, "
        "orchestrator_kube_context or orchestrator_api_host (or the K8S_AUTH_* "
        "environment variables) point at it.",
    )


def check_write_access(settings, obs):
    results = obs.get("access") or []
    denied = [r for r in results if not r.get("allowed")]
    if not denied:
        return check("write_access", True, "The caller may %s cluster-wide."
                     % ", ".join(_access_text(r) for r in results))
    return check(
        "write_access", False,
        "The caller has no write access: it may not %s (cluster-wide)."
        % ", ".join(_access_text(r) for r in denied),
        "Run as a cluster administrator (a user or token bound to the "
        "cluster-admin ClusterRole); the install creates namespaces, operators "
        "and cluster-scoped objects.",
    )


def check_openshift(settings, obs):
    if obs.get("cluster_version") is not None:
        return check("openshift", True, "ClusterVersion/version found: this is OpenShift.")
    return check(
        "openshift", False,
        "Not an OpenShift cluster: config.openshift.io/v1 ClusterVersion "
        "'version' was not found.",
        "The Orchestrator runs on OpenShift %s; connect to an OpenShift cluster."
        % describe_range(settings["openshift_min_version"],
                         settings["openshift_max_version"]),
    )


def check_openshift_version(settings, obs):
    low = settings["openshift_min_version"]
    high = settings["openshift_max_version"]
    accepted = describe_range(low, high)
    version = completed_version(obs.get("cluster_version"))
    hint_vars = ("or widen the accepted range (prerequisites_openshift_min_version / "
                 "prerequisites_openshift_max_version).")
    if not version:
        return check(
            "openshift_version", False,
            "ClusterVersion/version has no Completed entry in status.history, so "
            "the OpenShift version is unknown.",
            "Wait for the cluster install or update to complete, then run again.",
        )
    try:
        ok = version_in_range(version, low, high)
    except ValueError:
        ok = False
    if ok:
        return check("openshift_version", True,
                     "OpenShift %s is within the accepted range (%s)." % (version, accepted))
    if low and _pad(parse_version(version), len(parse_version(low))) < parse_version(low):
        reason = "older than the minimum supported %s" % low
    else:
        reason = "newer than the maximum supported %s" % high
    return check(
        "openshift_version", False,
        "OpenShift %s is %s (accepted: %s)." % (version, reason, accepted),
        "Use a cluster running OpenShift %s, %s" % (accepted, hint_vars),
    )


def check_cluster_domain(settings, obs):
    domain = obs.get("domain")
    if domain:
        return check("cluster_domain", True, "Cluster domain is %s." % domain)
    return check(
        "cluster_domain", False,
        "The cluster domain is unknown: config.openshift.io/v1 Ingress 'cluster' "
        "has no spec.domain.",
        "Check the cluster ingress configuration (oc get ingresses.config.openshift.io "
        "cluster -o yaml); the Developer Hub URL is built from spec.domain.",
    )


def olm_missing(obs):
    """OLM CRD names whose resources no served discovery document lists.

    None when the Subscriptions were listed (``obs["subscriptions"]``): the
    OLM APIs come with one install, and only a cluster without that list is
    looked at more closely.
    ``obs["olm_apis"]`` maps each group version of ``OLM_APIS`` to the
    resource names of its discovery document, or None when it is not served.
    """
    if obs.get("subscriptions") is not None:
        return []
    apis = obs.get("olm_apis") or {}
    served = set()
    for group_version, wanted in OLM_APIS.items():
        served.update(r for r in wanted if r in (apis.get(group_version) or ()))
    return [name for name in OLM_CRDS if name.split(".", 1)[0] not in served]


def check_olm(settings, obs):
    missing = olm_missing(obs)
    if not missing:
        return check("olm", True, "Operator Lifecycle Manager is installed.")
    return check(
        "olm", False,
        "Operator Lifecycle Manager (OLM) is not installed: missing CRDs %s."
        % ", ".join(missing),
        "Install OLM (https://olm.operatorframework.io/docs/getting-started/); "
        "OpenShift ships it by default.",
    )


def default_storage_class(storage_classes):
    """Name of the default StorageClass (first by name), or None."""
    names = sorted(sc["name"] for sc in storage_classes or [] if sc.get("default"))
    return names[0] if names else None


def check_default_storage_class(settings, obs):
    name = default_storage_class(obs.get("storage_classes"))
    if name:
        return check("default_storage_class", True, "Default StorageClass is %s." % name)
    names = sorted(sc["name"] for sc in obs.get("storage_classes") or [])
    found = ("StorageClasses present: %s" % ", ".join(names)) if names else "no StorageClass at all"
    return check(
        "default_storage_class", False,
        "No default StorageClass (annotation storageclass.kubernetes.io/"
        "is-default-class: \"true\"); %s. PostgreSQL needs one for its volume." % found,
        "Mark a StorageClass as default: oc annotate storageclass <name> "
        "storageclass.kubernetes.io/is-default-class=true; or set "
        "prerequisites_require_default_storage_class: false when the database "
        "does not need one.",
    )


def check_architecture(settings, obs):
    supported = settings["supported_architectures"]
    archs = sorted(set(obs.get("architectures") or []))
    usable = [a for a in archs if a in supported]
    if usable:
        return check("architecture", True,
                     "Nodes with a supported architecture: %s." % ", ".join(usable))
    if not archs:
        return check(
            "architecture", False,
            "No node was found, so no node can run the %s images." % ", ".join(supported),
            "Add worker nodes (%s) to the cluster." % ", ".join(supported),
        )
    return check(
        "architecture", False,
        "No node has a supported architecture (%s); the nodes are %s. OpenShift "
        "Serverless images are not built for %s."
        % (", ".join(supported), ", ".join(archs), ", ".join(archs)),
        "Add %s worker nodes to the cluster; arm64-only clusters (e.g. OpenShift "
        "Local on Apple silicon) are not supported." % " or ".join(supported),
    )


def check_catalog_source(settings, obs):
    name = settings["catalog_source"]
    namespace = settings["catalog_source_namespace"]
    catalog = obs.get("catalog")
    if catalog is None:
        return check(
            "catalog_source", False,
            "CatalogSource %s not found in namespace %s." % (name, namespace),
            "Enable the catalog (OperatorHub sources of the cluster) or set "
            "orchestrator_catalog_source / orchestrator_catalog_source_namespace "
            "to a catalog that exists.",
        )
    if catalog.get("not_needed"):
        return check("catalog_source", True,
                     "CatalogSource %s in %s not read: OLM has resolved every package from it." % (name, namespace))
    state = catalog.get("state") or "unknown"
    if state == "READY":
        return check("catalog_source", True,
                     "CatalogSource %s in %s is READY." % (name, namespace))
    return check(
        "catalog_source", False,
        "CatalogSource %s in %s is not ready (connection state: %s)."
        % (name, namespace, state),
        "Check the catalog pod in %s (image pull, network access to the registry) "
        "and run again once status.connectionState.lastObservedState is READY."
        % namespace,
    )


def check_package(settings, obs, package):
    name, channel = package["name"], package["channel"]
    source = settings["catalog_source"]
    found = (obs.get("packages") or {}).get(name)
    cname = "package/" + name
    if not found:
        return check(
            cname, False,
            "Operator package %s was not found in catalog %s." % (name, source),
            "Check the package name, or use a catalog that offers it "
            "(orchestrator_catalog_source).",
        )
    channels = found.get("channels") or []
    if found.get("resolved"):
        return check(cname, True, "Package %s: a Subscription at channel %s is resolved by OLM." % (name, channel))
    if not channel or channel in channels:
        return check(cname, True, "Package %s offers channel %s."
                     % (name, channel or found.get("default_channel") or "(default)"))
    return check(
        cname, False,
        "Package %s has no channel %s in catalog %s (available: %s)."
        % (name, channel, source, ", ".join(channels) or "none"),
        "Set the channel of %s to one of: %s." % (name, ", ".join(channels) or "none"),
    )


def check_tekton_needs_gitops(settings, obs):
    return check(
        "tekton_needs_gitops", False,
        "Tekton is enabled but GitOps is not: the pipeline lives in the ArgoCD namespace.",
        "Set orchestrator_gitops_enabled: true, or orchestrator_tekton_enabled: false.",
    )


def check_gitops_crds(settings, obs):
    crds = obs.get("crds") or {}
    wanted = dict(GITOPS_CRDS)
    if settings.get("tekton"):
        wanted.update(TEKTON_CRDS)
    problems = []
    for name, version in wanted.items():
        served = crds.get(name)
        if served is None:
            problems.append("%s (%s) is missing" % (name, version))
        elif version not in served:
            problems.append("%s does not serve %s (serves %s)"
                            % (name, version, ", ".join(served) or "nothing"))
    if not problems:
        return check("gitops_crds", True, "GitOps CRDs present: %s." % ", ".join(wanted))
    hint = "Install the OpenShift GitOps operator"
    if settings.get("tekton"):
        hint += " and the OpenShift Pipelines operator"
    hint += " first, or set orchestrator_gitops_enabled: false."
    return check("gitops_crds", False,
                 "GitOps is enabled but its CRDs are not ready: %s." % "; ".join(problems),
                 hint)


def check_argocd_instance(settings, obs):
    namespace = settings["argocd_namespace"]
    wanted = settings["argocd_instance"]
    instances = obs.get("argocd_instances")
    if instances is None:
        return check(
            "argocd_instance", False,
            "No ArgoCD instance can exist in %s: the CRD %s is missing." % (namespace, ARGOCD_CRD),
            "Install the OpenShift GitOps operator and create an ArgoCD instance in %s."
            % namespace,
        )
    if (wanted and wanted in instances) or (not wanted and instances):
        return check("argocd_instance", True, "ArgoCD instance %s found in %s."
                     % (wanted or instances[0], namespace))
    what = ("ArgoCD instance %s" % wanted) if wanted else "No ArgoCD instance"
    tail = (" (found: %s)" % ", ".join(instances)) if instances else ""
    return check(
        "argocd_instance", False,
        "%s%s in namespace %s%s." % (what, " not found" if wanted else " found",
                                     namespace, tail),
        "Create an ArgoCD instance in %s (OpenShift GitOps), or point "
        "orchestrator_argocd_namespace / orchestrator_argocd_instance at an "
        "existing one." % namespace,
    )


def evaluate(settings, obs):
    """All applicable checks, in order, for the given observations."""
    results = [check_api(obs)]
    if obs.get("error"):
        return results
    names = applicable_checks(settings)
    simple = {
        "write_access": check_write_access,
        "openshift": check_openshift,
        "olm": check_olm,
        "default_storage_class": check_default_storage_class,
        "architecture": check_architecture,
        "tekton_needs_gitops": check_tekton_needs_gitops,
        "gitops_crds": check_gitops_crds,
        "argocd_instance": check_argocd_instance,
    }
    is_openshift = obs.get("cluster_version") is not None
    olm = olm_installed(obs)
    catalog = obs.get("catalog") or {}
    catalog_ready = catalog.get("state") == "READY" or bool(catalog.get("not_needed"))
    for name in names[1:]:
        if name in ("openshift_version", "cluster_domain"):
            if is_openshift:
                fn = check_openshift_version if name == "openshift_version" else check_cluster_domain
                results.append(fn(settings, obs))
        elif name == "catalog_source":
            if olm:
                results.append(check_catalog_source(settings, obs))
        elif name.startswith("package/"):
            if olm and catalog_ready:
                pkg = next(p for p in settings["packages"] if "package/" + p["name"] == name)
                results.append(check_package(settings, obs, pkg))
        else:
            results.append(simple[name](settings, obs))
    return results


def olm_installed(obs):
    """Whether every OLM API the install uses is served."""
    return not olm_missing(obs)


def problems(checks):
    """The failed checks."""
    return [c for c in checks if not c["passed"]]


def cluster_facts(obs):
    """Facts about the cluster, for the caller to publish."""
    return {
        "api_url": obs.get("api_url"),
        "kubernetes_version": obs.get("kubernetes_version"),
        "openshift_version": completed_version(obs.get("cluster_version")),
        "domain": obs.get("domain"),
        "architectures": sorted(set(obs.get("architectures") or [])),
        "default_storage_class": default_storage_class(obs.get("storage_classes")),
        "olm": olm_installed(obs) if not obs.get("error") else False,
    }


def report(checks):
    """One text listing every failed check with its fix."""
    failed = problems(checks)
    lines = ["Preflight found %d problem(s):" % len(failed)]
    for item in failed:
        lines.append("- [%s] %s" % (item["name"], item["message"]))
        if item.get("hint"):
            lines.append("  Fix: %s" % item["hint"])
    return "\n".join(lines)


# ---------------------------------------------------------------- gathering


def _get(api, path, errors):
    """GET path; None on 404 (and on other errors, which are recorded)."""
    try:
        return read(api, path)
    except ApiError as exc:
        errors.append("GET %s: %s" % (path, exc))
        return None


def gather(api, settings):
    """Read everything the checks need, in one pass. Only GETs, plus
    SelfSubjectAccessReview creates (which store nothing)."""
    obs = {"api_url": api.host, "error": None, "read_errors": []}
    errs = obs["read_errors"]
    try:
        version = api.get("/version")
    except ApiError as exc:
        obs["error"] = str(exc)
        obs["error_status"] = exc.status
        return obs
    obs["kubernetes_version"] = str(version.get("gitVersion") or "").lstrip("v") or None

    obs["access"] = []
    for item in settings["write_access"]:
        attrs = {"verb": item["verb"], "resource": item["resource"], "group": item["group"]}
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs}}
        try:
            status = (api.post(SSAR_PATH, body) or {}).get("status") or {}
            allowed, reason = bool(status.get("allowed")), status.get("reason") or ""
        except ApiError as exc:
            allowed, reason = False, str(exc)
        obs["access"].append(dict(attrs, allowed=allowed, reason=reason))

    obs["cluster_version"] = _get(api, CLUSTERVERSION_PATH, errs)
    if obs["cluster_version"] is not None:
        ingress = _get(api, INGRESS_PATH, errs) or {}
        obs["domain"] = (ingress.get("spec") or {}).get("domain")

    listing = _get(api, SUBSCRIPTIONS_PATH, errs)
    obs["subscriptions"] = None if listing is None else listing.get("items") or []
    obs["olm_apis"] = {}
    for group_version in OLM_APIS if obs["subscriptions"] is None else ():
        doc = _get(api, "/apis/" + group_version, errs)
        obs["olm_apis"][group_version] = None if doc is None else [
            r["name"] for r in doc.get("resources") or [] if r.get("name")]

    obs["crds"] = {}
    for name in crds_to_check(settings):
        crd = _get(api, CRD_PATH + name, errs)
        obs["crds"][name] = None if crd is None else [
            v["name"] for v in (crd.get("spec") or {}).get("versions") or [] if v.get("served")
        ]

    listing = _get(api, "/apis/storage.k8s.io/v1/storageclasses", errs) or {}
    obs["storage_classes"] = [
        {"name": sc["metadata"]["name"],
         "default": any(str((sc["metadata"].get("annotations") or {}).get(a, "")).lower() == "true"
                        for a in DEFAULT_SC_ANNOTATIONS)}
        for sc in listing.get("items") or []
    ]

    nodes = _get(api, "/api/v1/nodes", errs) or {}
    obs["architectures"] = [
        (n["metadata"].get("labels") or {}).get(ARCH_LABEL)
        or ((n.get("status") or {}).get("nodeInfo") or {}).get("architecture")
        for n in nodes.get("items") or []
    ]
    obs["architectures"] = [a for a in obs["architectures"] if a]

    if settings["packages"] and olm_installed(obs):
        _gather_catalog(api, settings, obs, errs)

    if settings["gitops"]:
        served = obs["crds"].get(ARGOCD_CRD)
        obs["argocd_instances"] = None
        if served:
            version = "v1beta1" if "v1beta1" in served else served[0]
            path = api_path("argoproj.io/" + version, "argocds", settings["argocd_namespace"])
            listing = _get(api, path, errs) or {}
            obs["argocd_instances"] = sorted(
                i["metadata"]["name"] for i in listing.get("items") or [])
    return obs


def _gather_catalog(api, settings, obs, errs):
    namespace = settings["catalog_source_namespace"]
    source = settings["catalog_source"]
    resolved = olm.resolved_packages(obs.get("subscriptions"), settings["packages"], source, namespace)
    obs["packages"] = {name: {"channels": [p["channel"] for p in settings["packages"] if p["name"] == name],
                              "resolved": True} for name in resolved}
    if len(resolved) == len(settings["packages"]):
        # nothing to take from the catalog that OLM has not already taken
        obs["catalog"] = {"name": source, "namespace": namespace, "state": None, "not_needed": True}
        return
    catalog = _get(api, api_path("operators.coreos.com/v1alpha1", "catalogsources", namespace, source), errs)
    obs["catalog"] = None
    if catalog is not None:
        state = ((catalog.get("status") or {}).get("connectionState") or {}).get("lastObservedState")
        obs["catalog"] = {"name": source, "namespace": namespace, "state": state}
    if (obs["catalog"] or {}).get("state") != "READY":
        return
    for package in settings["packages"]:
        if package["name"] in resolved:
            continue
        try:
            manifest = olm_install.find_package(api, namespace, package["name"], source)
        except ApiError as exc:
            errs.append("GET %s: %s" % (olm.package_manifest_path(namespace, package["name"]), exc))
            manifest = None
        if not olm.offered_by(manifest, source, namespace):
            obs["packages"][package["name"]] = None
            continue
        status = manifest.get("status") or {}
        obs["packages"][package["name"]] = {
            "channels": sorted(c["name"] for c in status.get("channels") or []),
            "default_channel": status.get("defaultChannel"),
        }


# ------------------------------------------------------------------ the preflight module

# The first look at a cluster: how long a request is asked again while the
# server does not answer or answers with a transient failure, so that a wrong
# address is reported in seconds while a server restarting is waited for.
PREFLIGHT_RETRY_TIMEOUT = 15


def options():
    """The options of the preflight module, besides kubernetes.core's connection options."""
    return dict(
        write_access=dict(
            type="list", elements="dict",
            default=[dict(verb="create", resource="namespaces", group=""),
                     dict(verb="create", resource="customresourcedefinitions",
                          group="apiextensions.k8s.io")],
            options=dict(verb=dict(type="str", default="create"),
                         resource=dict(type="str", required=True),
                         group=dict(type="str", default="")),
        ),
        openshift_min_version=dict(type="str", default="4.13"),
        openshift_max_version=dict(type="str", default=""),
        require_default_storage_class=dict(type="bool", default=True),
        supported_architectures=dict(type="list", elements="str", default=["amd64"]),
        catalog_source=dict(type="str", default="redhat-operators"),
        catalog_source_namespace=dict(type="str", default="openshift-marketplace"),
        packages=dict(
            type="list", elements="dict", default=[],
            options=dict(name=dict(type="str", required=True),
                         channel=dict(type="str", default="")),
        ),
        gitops=dict(type="bool", default=False),
        tekton=dict(type="bool", default=False),
        argocd_namespace=dict(type="str", default="orchestrator-gitops"),
        argocd_instance=dict(type="str", default=""),
        fail_on_problems=dict(type="bool", default=False),
    )


def run_module(module):
    """What the preflight module does, for ``module`` (an AnsibleModule, or a step of converge)."""
    settings = normalize_settings(module.params)
    errors = settings_errors(settings)
    if errors:
        module.fail_json(msg="Invalid options: " + "; ".join(errors))

    api, failure = k8s.connect(module, timeout=PREFLIGHT_RETRY_TIMEOUT)
    if api is None:
        message, status, host = failure
        obs = {"api_url": host, "error": message, "error_status": status}
    else:
        obs = gather(api, settings)
    checks = evaluate(settings, obs)
    found = problems(checks)
    for warning in obs.get("read_errors") or []:
        module.warn(warning)
    result = dict(
        changed=False,
        cluster=cluster_facts(obs),
        checks=checks,
        problems=found,
        report=report(checks) if found else "",
        read_errors=obs.get("read_errors") or [],
    )
    if found and module.params["fail_on_problems"]:
        module.fail_json(msg=result["report"], **result)
    module.exit_json(**result)
