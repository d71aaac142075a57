"""Resource types served by the test cluster: the built-in table and CRD conversion."""

from __future__ import annotations

import re
from dataclasses import dataclass

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CRD_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    verbs: tuple[str, ...] = STANDARD_VERBS
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    list_kind: str = ""
    builtin: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"

    @property
    def group_resource(self) -> tuple[str, str]:
        return (self.group, self.plural)

    def discovery(self) -> list[dict]:
        """APIResource entries: the resource and its subresources."""
        main = {"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                "kind": self.kind, "verbs": list(self.verbs)}
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        out = [main]
        for sub in self.subresources:
            entry = {"name": f"{self.plural}/{sub}", "singularName": "", "namespaced": self.namespaced,
                     "kind": self.kind, "verbs": list(SUBRESOURCE_VERBS)}
            if sub == "scale":
                entry.update(group="autoscaling", version="v1", kind="Scale")
            elif sub == "finalize":
                entry["verbs"] = ["update"]
            out.append(entry)
        return out


def _rt(group, version, kind, plural, namespaced, *, short=(), cats=(), subs=(), verbs=STANDARD_VERBS):
    return ResourceType(group=group, version=version, kind=kind, plural=plural, singular=kind.lower(),
                        namespaced=namespaced, verbs=verbs, short_names=short, categories=cats,
                        subresources=subs)


BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _rt("", "v1", "Namespace", "namespaces", False, short=("ns",), subs=("finalize", "status"),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    _rt("", "v1", "ConfigMap", "configmaps", True, short=("cm",)),
    _rt("", "v1", "Secret", "secrets", True),
    _rt("", "v1", "ServiceAccount", "serviceaccounts", True, short=("sa",)),
    _rt("", "v1", "Service", "services", True, short=("svc",), cats=("all",), subs=("status",),
        verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
    _rt("", "v1", "Pod", "pods", True, short=("po",), cats=("all",), subs=("status",)),
    _rt("", "v1", "Node", "nodes", False, short=("no",), subs=("status",)),
    _rt("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, short=("pvc",), subs=("status",)),
    _rt("", "v1", "Event", "events", True, short=("ev",)),
    _rt("", "v1", "Endpoints", "endpoints", True, short=("ep",)),
    _rt("apps", "v1", "Deployment", "deployments", True, short=("deploy",), cats=("all",),
        subs=("scale", "status")),
    _rt("apps", "v1", "StatefulSet", "statefulsets", True, short=("sts",), cats=("all",),
        subs=("scale", "status")),
    _rt("apps", "v1", "ReplicaSet", "replicasets", True, short=("rs",), cats=("all",),
        subs=("scale", "status")),
    _rt("batch", "v1", "Job", "jobs", True, cats=("all",), subs=("status",)),
    _rt("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, short=("netpol",)),
    _rt("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    _rt("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _rt("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, short=("sc",)),
    _rt("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False,
        short=("crd", "crds"), subs=("status",)),
    _rt("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
        verbs=("create",)),
)

# Kinds whose objects carry metadata.generation, and what bumps it.
GENERATION_SPEC = {("apps", "StatefulSet"), ("apps", "ReplicaSet"), ("batch", "Job"),
                   ("networking.k8s.io", "NetworkPolicy"), ("apiextensions.k8s.io", "CustomResourceDefinition")}
GENERATION_SPEC_ANNOTATIONS = {("apps", "Deployment")}

# Built-in kinds whose DELETE returns the object instead of a Status.
RETURNS_DELETED_OBJECT = {("", "pods"), ("", "serviceaccounts"), ("", "namespaces"),
                          ("storage.k8s.io", "storageclasses")}

# Kinds that are never stored (create answers and forgets).
NOT_STORED = {("authorization.k8s.io", "selfsubjectaccessreviews")}

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple:
    """Sort key: GA > beta > alpha, higher numbers first, then non-kube versions by name."""
    m = _VERSION_RE.match(version)
    if not m:
        return (3, 0, 0, version)
    major = int(m.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, version)


def crd_resource_types(crd: dict) -> list[ResourceType]:
    """One ResourceType per served version of a CRD, in version priority order."""
    spec = crd.get("spec", {})
    names = (crd.get("status") or {}).get("acceptedNames") or spec.get("names", {})
    names = {**spec.get("names", {}), **{k: v for k, v in names.items() if v}}
    kind = names["kind"]
    out = []
    for ver in spec.get("versions", []):
        if not ver.get("served", True):
            continue
        subs = ver.get("subresources") or spec.get("subresources") or {}
        sub_names = tuple(s for s in ("status", "scale") if s in subs)
        out.append(ResourceType(
            group=spec["group"], version=ver["name"], kind=kind, plural=names["plural"],
            singular=names.get("singular") or kind.lower(),
            namespaced=spec.get("scope", "Namespaced") == "Namespaced", verbs=CRD_VERBS,
            short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
            subresources=sub_names, list_kind=names.get("listKind") or f"{kind}List", builtin=False))
    out.sort(key=lambda rt: version_priority(rt.version))
    return out


def crd_version(crd: dict, version: str) -> dict | None:
    for ver in crd.get("spec", {}).get("versions", []):
        if ver.get("name") == version:
            return ver
    return None


def storage_version(crd: dict) -> str:
    versions = crd.get("spec", {}).get("versions", [])
    for ver in versions:
        if ver.get("storage"):
            return ver["name"]
    return versions[0]["name"] if versions else "v1"
