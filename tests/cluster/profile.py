"""What a fresh cluster holds before anyone installs anything.

``seed(store, config)`` creates the system namespaces, the OLM and OpenShift
CRDs and objects, Nodes, the StorageClass, the operator CatalogSource with the
PackageManifest API, and the user-made gitops pieces when asked for.
"""

from __future__ import annotations

import copy

from tests.cluster.catalog import INSTALL_MODES, Package, operator_catalog
from tests.cluster.config import ClusterConfig
from tests.cluster.crds import crd_catalog, get_crd
from tests.cluster.resources import ResourceType

MANAGER = "cluster-bootstrap"
OLM_API = "operators.coreos.com/v1alpha1"
OLM_CRDS = ("subscriptions.operators.coreos.com", "operatorgroups.operators.coreos.com",
            "clusterserviceversions.operators.coreos.com", "installplans.operators.coreos.com",
            "catalogsources.operators.coreos.com")
OPENSHIFT_CRDS = ("clusterversions.config.openshift.io", "ingresses.config.openshift.io",
                  "routes.route.openshift.io")
GITOPS_CRDS = ("appprojects.argoproj.io", "argocds.argoproj.io", "tasks.tekton.dev", "pipelines.tekton.dev")
PACKAGE_MANIFEST = ResourceType(
    group="packages.operators.coreos.com", version="v1", kind="PackageManifest", plural="packagemanifests",
    singular="packagemanifest", namespaced=True, verbs=("get", "list"), list_kind="PackageManifestList")
SEED_TIME = "2024-01-01T00:00:00Z"


def marketplace_namespace(config: ClusterConfig) -> str:
    """Where the global catalogs live: openshift-marketplace, or ``olm`` upstream."""
    return "openshift-marketplace" if config.profile == "openshift" else "olm"


def global_operators_namespace(config: ClusterConfig) -> str:
    return "openshift-operators" if config.profile == "openshift" else "operators"


def _create(store, obj: dict, status: dict | None = None) -> dict:
    try:
        created = store.create(obj, manager=MANAGER)
    except Exception as exc:  # a real API server makes the system namespaces itself
        if getattr(exc, "code", None) != 409:
            raise
        meta = obj["metadata"]
        created = store.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
    if status is not None:
        created["status"] = status
        created = store.update(created, manager=MANAGER, subresource="status")
    return created


def _kube_version(config: ClusterConfig) -> str:
    try:
        from tests.cluster.store import kubernetes_version
        return kubernetes_version(config)
    except ImportError:  # pragma: no cover
        return config.kubernetes_version


def seed(store, config: ClusterConfig) -> None:
    """Everything a new cluster holds before a test starts."""
    seed_objects(store, config)
    attach(store, config)


def attach(store, config: ClusterConfig) -> None:
    """The part of the seed that lives outside the API server's storage: the package server."""
    if config.olm:
        register_package_manifests(store, config)


def seed_objects(store, config: ClusterConfig) -> None:
    """The seed's objects (all of them stored by the API server)."""
    openshift = config.profile == "openshift"
    namespaces = ["default", "kube-system", "kube-public", "kube-node-lease"]
    if openshift:
        namespaces += ["openshift-config", "openshift-config-managed", "openshift-marketplace",
                       "openshift-operators", "openshift-operator-lifecycle-manager"]
    elif config.olm:
        namespaces += ["olm", "operators"]
    for ns in namespaces:
        _create(store, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    catalog = crd_catalog(config.crds_dir)
    wanted = list(OPENSHIFT_CRDS if openshift else ())
    if config.olm:
        wanted += OLM_CRDS
    if config.gitops:
        wanted += [name for name in GITOPS_CRDS if name not in wanted]
    for name in wanted:
        if name in catalog:
            store.create(get_crd(name, config.crds_dir), manager=MANAGER)

    if openshift:
        _openshift_config(store, config)
    _nodes(store, config)
    _storage(store, config)
    if config.olm:
        _olm(store, config)
    if config.gitops:
        _gitops(store, config)


def _openshift_config(store, config: ClusterConfig) -> None:
    version = config.openshift_version
    minor = ".".join(version.split(".")[:2])
    image = f"quay.io/openshift-release-dev/ocp-release@sha256:{'0' * 64}"
    _create(store, {
        "apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion", "metadata": {"name": "version"},
        "spec": {"clusterID": "6f2e0b1c-9c83-4c7e-8f57-0a6f4c5f1d2e", "channel": f"stable-{minor}"},
    }, status={
        "desired": {"version": version, "image": image, "channels": [f"stable-{minor}"]},
        "history": [{"state": "Completed", "version": version, "image": image, "verified": False,
                     "startedTime": SEED_TIME, "completionTime": SEED_TIME}],
        "observedGeneration": 1,
        "versionHash": "orchestrator-test",
        "availableUpdates": None,
        "capabilities": {"enabledCapabilities": ["marketplace", "OperatorLifecycleManager"],
                         "knownCapabilities": ["marketplace", "OperatorLifecycleManager"]},
        "conditions": [
            {"type": "Available", "status": "True", "lastTransitionTime": SEED_TIME,
             "message": f"Done applying {version}"},
            {"type": "Failing", "status": "False", "lastTransitionTime": SEED_TIME},
            {"type": "Progressing", "status": "False", "lastTransitionTime": SEED_TIME,
             "message": f"Cluster version is {version}"},
        ],
    })
    _create(store, {"apiVersion": "config.openshift.io/v1", "kind": "Ingress", "metadata": {"name": "cluster"},
                    "spec": {"domain": config.cluster_domain}})


def _nodes(store, config: ClusterConfig) -> None:
    kube = _kube_version(config)
    for i, arch in enumerate(config.node_architectures):
        name = f"worker-{arch}-{i}"
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/arch": arch, "beta.kubernetes.io/arch": arch, "kubernetes.io/os": "linux",
                "beta.kubernetes.io/os": "linux", "kubernetes.io/hostname": name,
                "node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": ""}},
            "spec": {},
        }
        status = {
            "nodeInfo": {"architecture": arch, "operatingSystem": "linux", "kubeletVersion": f"v{kube}",
                         "kubeProxyVersion": f"v{kube}", "containerRuntimeVersion": "cri-o://1.29.0",
                         "kernelVersion": "5.14.0-427.el9.x86_64" if arch == "amd64" else "5.14.0-427.el9.aarch64",
                         "osImage": "Red Hat Enterprise Linux CoreOS", "machineID": f"{i:032x}",
                         "systemUUID": f"00000000-0000-0000-0000-{i:012x}", "bootID": f"boot-{i}"},
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "250", "ephemeral-storage": "120Gi"},
            "allocatable": {"cpu": "7500m", "memory": "30Gi", "pods": "250", "ephemeral-storage": "110Gi"},
            "addresses": [{"type": "InternalIP", "address": f"10.0.0.{10 + i}"},
                          {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status", "lastHeartbeatTime": SEED_TIME,
                            "lastTransitionTime": SEED_TIME}],
        }
        created = store.create({**node, "status": status}, manager=MANAGER)
        if (created.get("status") or {}).get("nodeInfo") != status["nodeInfo"]:
            created["status"] = status
            store.update(created, manager=MANAGER, subresource="status")


def _storage(store, config: ClusterConfig) -> None:
    meta = {"name": "standard"}
    if config.default_storage_class:
        meta["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    store.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta,
                  "provisioner": "csi.orchestrator.test", "reclaimPolicy": "Delete",
                  "volumeBindingMode": "Immediate", "allowVolumeExpansion": True}, manager=MANAGER)


def catalog_names(config: ClusterConfig) -> list[str]:
    """The CatalogSources offering the operator packages, in the order a GET by package name looks at them."""
    names = [name for name in config.extra_catalogs if name != config.catalog_source]
    return names + [config.catalog_source]


def _display_name(config: ClusterConfig, catalog: str) -> str:
    return "Red Hat Operators" if catalog == config.catalog_source else catalog


def _catalog_source(store, config: ClusterConfig, name: str, ready: bool) -> None:
    ns = marketplace_namespace(config)
    minor = ".".join(config.openshift_version.split(".")[:2])
    image = (f"registry.redhat.io/redhat/redhat-operator-index:v{minor}" if name == config.catalog_source
             else f"registry.example.test/{name}/operator-index:v{minor}")
    _create(store, {
        "apiVersion": OLM_API, "kind": "CatalogSource",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"sourceType": "grpc", "image": image,
                 "displayName": _display_name(config, name), "publisher": "Red Hat", "priority": -100,
                 "updateStrategy": {"registryPoll": {"interval": "10m"}}},
    }, status={
        "connectionState": {"address": f"{name}.{ns}.svc:50051",
                            "lastObservedState": "READY" if ready else "TRANSIENT_FAILURE",
                            "lastConnect": SEED_TIME},
        "registryService": {"createdAt": SEED_TIME, "port": "50051", "protocol": "grpc",
                            "serviceName": name, "serviceNamespace": ns},
    })


def _olm(store, config: ClusterConfig) -> None:
    _catalog_source(store, config, config.catalog_source, config.catalog_ready)
    for name in catalog_names(config)[:-1]:
        _catalog_source(store, config, name, True)
    _create(store, {"apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup",
                    "metadata": {"name": "global-operators", "namespace": global_operators_namespace(config)},
                    "spec": {}})


# -- PackageManifest (package-server) ---------------------------------------------------------------
def _package_manifest(pkg: Package, namespace: str, config: ClusterConfig, catalog_ns: str,
                      catalog: str) -> dict:
    crds = crd_catalog(config.crds_dir)
    owned = []
    for crd_name in pkg.crds:
        crd = crds.get(crd_name)
        if crd:
            storage = [v["name"] for v in crd["spec"]["versions"] if v.get("storage")]
            owned.append({"name": crd_name, "kind": crd["spec"]["names"]["kind"],
                          "version": (storage or [crd["spec"]["versions"][0]["name"]])[0],
                          "displayName": crd["spec"]["names"]["kind"]})
    channels = []
    for ch_name in sorted(pkg.channels):
        entries = pkg.channels[ch_name]
        head = entries[-1]
        channels.append({
            "name": ch_name,
            "currentCSV": head.name,
            "currentCSVDesc": {
                "displayName": pkg.display_name, "version": head.version,
                "provider": {"name": pkg.provider}, "maturity": "stable",
                "description": f"{pkg.display_name} operator.",
                "annotations": {"capabilities": "Seamless Upgrades"},
                "installModes": [{"type": m, "supported": pkg.install_modes.get(m, False)}
                                 for m in INSTALL_MODES],
                "customresourcedefinitions": {"owned": owned},
            },
            "entries": [{"name": e.name, "version": e.version} for e in reversed(entries)],
        })
    labels = {"catalog": catalog, "catalog-namespace": catalog_ns, "provider": pkg.provider,
              "provider-url": "", "operatorframework.io/arch.amd64": "supported",
              "operatorframework.io/os.linux": "supported"}
    return {
        "apiVersion": "packages.operators.coreos.com/v1", "kind": "PackageManifest",
        "metadata": {"name": pkg.name, "namespace": namespace, "labels": labels,
                     "creationTimestamp": SEED_TIME},
        "spec": {},
        "status": {"catalogSource": catalog, "catalogSourceDisplayName": _display_name(config, catalog),
                   "catalogSourcePublisher": "Red Hat", "catalogSourceNamespace": catalog_ns,
                   "provider": {"name": pkg.provider}, "packageName": pkg.name, "channels": channels,
                   "defaultChannel": pkg.default_channel},
    }


def register_package_manifests(store, config: ClusterConfig) -> None:
    """Serve packages.operators.coreos.com/v1 PackageManifest (get and list only).

    One manifest per READY catalog and package, named after the package: with
    several catalogs the list holds several objects of the same name (their
    ``catalog`` label tells them apart) and a GET by name answers with the one
    of the first catalog of ``catalog_names`` that offers the package.
    """
    packages = operator_catalog(config.extra_channels)
    catalog_ns = marketplace_namespace(config)
    cache: dict[tuple[str, str, str], dict] = {}

    def available() -> list[str]:
        ready = []
        for name in catalog_names(config):
            cs = store.try_get(OLM_API, "CatalogSource", name, catalog_ns)
            state = (((cs or {}).get("status") or {}).get("connectionState") or {}).get("lastObservedState")
            if state == "READY":
                ready.append(name)
        return ready

    def manifest(pkg: Package, namespace: str, catalog: str) -> dict:
        key = (pkg.name, namespace, catalog)
        if key not in cache:
            cache[key] = _package_manifest(pkg, namespace, config, catalog_ns, catalog)
        return copy.deepcopy(cache[key])

    def get(name: str, namespace: str | None) -> dict | None:
        pkg = packages.get(name)
        catalogs = available()
        if pkg is None or not catalogs:
            return None
        return manifest(pkg, namespace or catalog_ns, catalogs[0])

    def list_(namespace: str | None) -> list[dict]:
        return [manifest(pkg, namespace or catalog_ns, catalog)
                for catalog in available() for dummy, pkg in sorted(packages.items())]

    store.register_virtual(PACKAGE_MANIFEST, get, list_)


# -- gitops pieces made by the user beforehand -------------------------------------------------------
def _gitops(store, config: ClusterConfig) -> None:
    from tests.cluster.controllers.gitops import argocd_objects

    ns, inst = config.argocd_namespace, config.argocd_instance
    _create(store, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    argocd = {"apiVersion": "argoproj.io/v1beta1", "kind": "ArgoCD", "metadata": {"name": inst, "namespace": ns},
              "spec": {"server": {"route": {"enabled": True}}, "rbac": {"defaultPolicy": "role:readonly"}}}
    dummy, status = argocd_objects({**argocd, "metadata": {**argocd["metadata"], "uid": ""}}, config, False, SEED_TIME)
    argocd = _create(store, argocd, status=status)
    objects, dummy = argocd_objects(argocd, config, config.profile == "openshift", SEED_TIME)
    for obj in objects:
        status = obj.pop("status", None)
        _create(store, obj, status=status)
