"""CustomResourceDefinitions known to the test cluster.

The real upstream CRDs are read from a folder (``config.crds_dir``) when it is
there; every CRD we need also has a minimal built-in definition (same names,
scope and versions, an open schema and a status subresource) used when the
folder or its file is missing.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import yaml

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

# name: (group, kind, plural, singular, scope, versions, shortNames, categories)
_MINIMAL: dict[str, tuple] = {
    "appprojects.argoproj.io": ("argoproj.io", "AppProject", "appprojects", "appproject", "Namespaced",
                                ("v1alpha1",), ("appproj", "appprojs"), ()),
    "argocds.argoproj.io": ("argoproj.io", "ArgoCD", "argocds", "argocd", "Namespaced",
                            ("v1alpha1", "v1beta1"), ("argocd", "argocds"), ()),
    "clusterversions.config.openshift.io": ("config.openshift.io", "ClusterVersion", "clusterversions",
                                            "clusterversion", "Cluster", ("v1",), (), ()),
    "ingresses.config.openshift.io": ("config.openshift.io", "Ingress", "ingresses", "ingress", "Cluster",
                                      ("v1",), (), ()),
    "knativeeventings.operator.knative.dev": ("operator.knative.dev", "KnativeEventing", "knativeeventings",
                                              "knativeeventing", "Namespaced", ("v1beta1",), (), ()),
    "knativeservings.operator.knative.dev": ("operator.knative.dev", "KnativeServing", "knativeservings",
                                             "knativeserving", "Namespaced", ("v1beta1",), (), ()),
    "catalogsources.operators.coreos.com": ("operators.coreos.com", "CatalogSource", "catalogsources",
                                            "catalogsource", "Namespaced", ("v1alpha1",), ("catsrc",),
                                            ("olm",)),
    "clusterserviceversions.operators.coreos.com": ("operators.coreos.com", "ClusterServiceVersion",
                                                    "clusterserviceversions", "clusterserviceversion",
                                                    "Namespaced", ("v1alpha1",), ("csv", "csvs"), ("olm",)),
    "installplans.operators.coreos.com": ("operators.coreos.com", "InstallPlan", "installplans", "installplan",
                                          "Namespaced", ("v1alpha1",), ("ip",), ("olm",)),
    "operatorgroups.operators.coreos.com": ("operators.coreos.com", "OperatorGroup", "operatorgroups",
                                            "operatorgroup", "Namespaced", ("v1alpha2", "v1"), ("og",),
                                            ("olm",)),
    "subscriptions.operators.coreos.com": ("operators.coreos.com", "Subscription", "subscriptions",
                                           "subscription", "Namespaced", ("v1alpha1",), ("sub", "subs"),
                                           ("olm",)),
    "backstages.rhdh.redhat.com": ("rhdh.redhat.com", "Backstage", "backstages", "backstage", "Namespaced",
                                   ("v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4"), (), ()),
    "orchestrators.rhdh.redhat.com": ("rhdh.redhat.com", "Orchestrator", "orchestrators", "orchestrator",
                                      "Namespaced", ("v1alpha1",), (), ()),
    "routes.route.openshift.io": ("route.openshift.io", "Route", "routes", "route", "Namespaced", ("v1",),
                                  (), ()),
    "sonataflowclusterplatforms.sonataflow.org": ("sonataflow.org", "SonataFlowClusterPlatform",
                                                  "sonataflowclusterplatforms", "sonataflowclusterplatform",
                                                  "Cluster", ("v1alpha08",), (), ()),
    "sonataflowplatforms.sonataflow.org": ("sonataflow.org", "SonataFlowPlatform", "sonataflowplatforms",
                                           "sonataflowplatform", "Namespaced", ("v1alpha08",),
                                           ("sfp", "sfplatform", "sfplatforms"), ()),
    "sonataflows.sonataflow.org": ("sonataflow.org", "SonataFlow", "sonataflows", "sonataflow", "Namespaced",
                                   ("v1alpha08",), ("sf", "workflow", "workflows"), ()),
    "pipelines.tekton.dev": ("tekton.dev", "Pipeline", "pipelines", "pipeline", "Namespaced",
                             ("v1beta1", "v1"), (), ("tekton", "tekton-pipelines")),
    "tasks.tekton.dev": ("tekton.dev", "Task", "tasks", "task", "Namespaced", ("v1beta1", "v1"), (),
                         ("tekton", "tekton-pipelines")),
}

# The storage version, when it is not the last one listed.
_STORAGE = {"argocds.argoproj.io": "v1beta1", "operatorgroups.operators.coreos.com": "v1",
            "pipelines.tekton.dev": "v1", "tasks.tekton.dev": "v1"}

KNOWN_CRDS: tuple[str, ...] = tuple(sorted(_MINIMAL))

_cache: dict[str | None, dict[str, dict]] = {}
_lock = threading.Lock()


def minimal_crd(name: str) -> dict:
    """A small CRD with the real names, scope and versions and an open schema."""
    group, kind, plural, singular, scope, versions, short, cats = _MINIMAL[name]
    storage = _STORAGE.get(name, versions[-1])
    names = {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": singular}
    if short:
        names["shortNames"] = list(short)
    if cats:
        names["categories"] = list(cats)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": group,
            "names": names,
            "scope": scope,
            "versions": [
                {"name": v, "served": True, "storage": v == storage,
                 "schema": {"openAPIV3Schema": {"type": "object",
                                                "x-kubernetes-preserve-unknown-fields": True}},
                 "subresources": {"status": {}}}
                for v in versions
            ],
        },
    }


def _load_dir(folder: Path) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in sorted(folder.glob("*.y*ml")):
        with path.open("rb") as fh:
            for doc in yaml.load_all(fh, Loader=_Loader):
                if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                    continue
                doc.pop("status", None)
                meta = doc.setdefault("metadata", {})
                for key in ("creationTimestamp", "resourceVersion", "uid", "generation", "managedFields"):
                    meta.pop(key, None)
                found[meta["name"]] = doc
    return found


def crd_catalog(crds_dir: Path | str | None) -> dict[str, dict]:
    """CRD name -> CRD object; the real file wins over the minimal definition.

    The parsed objects are shared by the whole process: copy before changing.
    """
    key = str(Path(crds_dir).resolve()) if crds_dir else None
    with _lock:
        cached = _cache.get(key)
        if cached is None:
            cached = {name: minimal_crd(name) for name in _MINIMAL}
            if key and Path(key).is_dir():
                cached.update(_load_dir(Path(key)))
            _cache[key] = cached
    return dict(cached)


def get_crd(name: str, crds_dir: Path | str | None) -> dict:
    """A private (deep) copy of one CRD; KeyError when unknown."""
    return copy.deepcopy(crd_catalog(crds_dir)[name])
