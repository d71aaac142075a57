"""Print what the Orchestrator install put on a cluster, and how ready it is.

Lists the namespaces, the OLM Subscriptions and ClusterServiceVersions, the
custom resources the Orchestrator uses, and the Deployments and StatefulSets in
the namespaces where any of those live, and each Developer Hub with its URL.
Kinds the cluster does not serve are skipped, so the report works on any
cluster.
"""

import argparse
import sys

from kubernetes import config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

OLM = [
    ("operators.coreos.com/v1alpha1", "Subscription"),
    ("operators.coreos.com/v1alpha1", "ClusterServiceVersion"),
]
CUSTOM_RESOURCES = [
    ("operator.knative.dev/v1beta1", "KnativeServing"),
    ("operator.knative.dev/v1beta1", "KnativeEventing"),
    ("sonataflow.org/v1alpha08", "SonataFlowClusterPlatform"),
    ("sonataflow.org/v1alpha08", "SonataFlowPlatform"),
    ("sonataflow.org/v1alpha08", "SonataFlow"),
    ("rhdh.redhat.com/v1alpha1", "Backstage"),
    ("argoproj.io/v1alpha1", "AppProject"),
    ("tekton.dev/v1", "Task"),
    ("tekton.dev/v1", "Pipeline"),
]
WORKLOADS = [("apps/v1", "Deployment"), ("apps/v1", "StatefulSet")]


def conditions(obj):
    """Conditions as `Type=Status` words."""
    found = (obj.get("status") or {}).get("conditions") or []
    return " ".join(f"{c.get('type')}={c.get('status')}" for c in found) or "-"


def state(kind, obj):
    """One-line readiness summary of an object."""
    status = obj.get("status") or {}
    if kind == "Subscription":
        return f"state={status.get('state', '-')} installedCSV={status.get('installedCSV', '-')}"
    if kind == "ClusterServiceVersion":
        return f"phase={status.get('phase', '-')}"
    if kind == "StatefulSet":
        ready = status.get("readyReplicas", 0)
        return f"ready={ready}/{(obj.get('spec') or {}).get('replicas', 1)}"
    return conditions(obj)


def list_kind(client, api_version, kind, namespace=None):
    """Objects of a kind as dicts; empty when the cluster does not serve the kind."""
    try:
        resource = client.resources.get(api_version=api_version, kind=kind)
    except ResourceNotFoundError:
        return None
    kwargs = {"namespace": namespace} if namespace and resource.namespaced else {}
    return resource.get(**kwargs).to_dict().get("items", [])


def rows(client, kinds, namespaces=None):
    """Report rows (kind, namespace, name, state) for the given kinds."""
    out = []
    for api_version, kind in kinds:
        for namespace in namespaces or [None]:
            for obj in list_kind(client, api_version, kind, namespace) or []:
                meta = obj["metadata"]
                if "olm.copiedFrom" in (meta.get("labels") or {}):
                    continue  # OLM's copy of a CSV in every watched namespace
                out.append((kind, meta.get("namespace") or "", meta["name"], state(kind, obj)))
    return out


def table(title, lines):
    """Print rows under a title, with aligned columns."""
    print(f"== {title}")
    if not lines:
        print("   (none)")
        return
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]) - 1)]
    for line in lines:
        cells = [str(cell).ljust(width) for cell, width in zip(line, widths)]
        print("   " + "  ".join(cells + [str(line[-1])]))


def report(client):
    """Print the whole report."""
    namespaces = list_kind(client, "v1", "Namespace") or []
    table("Namespaces", [(ns["metadata"]["name"], (ns.get("status") or {}).get("phase", "-")) for ns in namespaces])
    olm = rows(client, OLM)
    table("Operators (Subscriptions and ClusterServiceVersions)", olm)
    custom = rows(client, CUSTOM_RESOURCES)
    table("Orchestrator custom resources", custom)
    used = sorted({row[1] for row in olm + custom if row[1]})
    table(f"Workloads in {', '.join(used) or 'no namespace'}", rows(client, WORKLOADS, used) if used else [])
    table("Developer Hub", developer_hub(client))


def developer_hub(client):
    """(namespace/name, ready or not, URL) of each Backstage; the URL is https:// + the host of its Route."""
    out = []
    for obj in list_kind(client, "rhdh.redhat.com/v1alpha1", "Backstage") or []:
        meta = obj["metadata"]
        deployed = [c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == "Deployed"]
        ready = "ready" if deployed and deployed[0].get("status") == "True" else "not ready"
        routes = list_kind(client, "route.openshift.io/v1", "Route", meta["namespace"]) or []
        hosts = [(r.get("spec") or {}).get("host") for r in routes
                 if r["metadata"]["name"] == f"backstage-{meta['name']}"]
        url = f"https://{hosts[0]}" if hosts and hosts[0] else "(no Route yet)"
        out.append((f"{meta['namespace']}/{meta['name']}", ready, url))
    return out


def main(argv=None):
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context")
    args = parser.parse_args(argv)
    api = config.new_client_from_config(config_file=args.kubeconfig, context=args.context)
    report(DynamicClient(api))
    return 0


if __name__ == "__main__":
    sys.exit(main())
