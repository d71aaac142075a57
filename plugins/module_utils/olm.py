# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Decisions for installing an operator through OLM.

Pure functions over plain dicts (API objects as read from the cluster and the
module parameters): which Subscription to use, what to create or patch,
which InstallPlans to approve, whether the operator is ready, and the
messages and debug data shown when it is not. Nothing here talks to the
cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.parodos.orchestrator.plugins.module_utils import readiness as rd
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import (
    OWNERSHIP_LABELS,
    api_path,
    is_ours,
)

OLM_V1 = "operators.coreos.com/v1"
OLM_V1A1 = "operators.coreos.com/v1alpha1"


# ------------------------------------------------------------------ paths


def namespace_path(name=None):
    return api_path("v1", "namespaces", name=name)


def package_manifest_path(namespace, package):
    return api_path("packages.operators.coreos.com/v1", "packagemanifests", namespace, package)


def olm_path(kind_plural, namespace=None, name=None):
    """Path of an operators.coreos.com collection or object."""
    version = OLM_V1 if kind_plural == "operatorgroups" else OLM_V1A1
    return api_path(version, kind_plural, namespace, name)


def deployment_path(namespace, name=None):
    return api_path("apps/v1", "deployments", namespace, name)


# ------------------------------------------------------------------ helpers


def ref(obj):
    """"namespace/name" of an object."""
    meta = (obj or {}).get("metadata") or {}
    return "%s/%s" % (meta.get("namespace", ""), meta.get("name", ""))


def ownership_labels(extra):
    """The ownership mark plus the caller's labels."""
    out = dict(OWNERSHIP_LABELS)
    out.update(extra or {})
    return out


# ------------------------------------------------------------------ catalog


def channel_names(manifest):
    return [ch.get("name") for ch in (manifest.get("status") or {}).get("channels") or []]


def channel_csvs(manifest, channel):
    """CSV names of a channel (its entries; the head when entries are not listed)."""
    for ch in (manifest.get("status") or {}).get("channels") or []:
        if ch.get("name") == channel:
            names = [e.get("name") for e in ch.get("entries") or [] if e.get("name")]
            return names or [n for n in [ch.get("currentCSV")] if n]
    return []


def offered_by(manifest, source, namespace):
    """Whether a PackageManifest is the one CatalogSource ``namespace/source`` offers."""
    status = (manifest or {}).get("status") or {}
    return (status.get("catalogSource"), status.get("catalogSourceNamespace") or namespace) == (source, namespace)


def package_problem(manifest, params):
    """Why the catalog cannot give what was asked for; None when it can.

    ``manifest`` is the PackageManifest (see olm_install.find_package), or
    None when there is none.
    """
    package, source = params["package"], params["source"]
    source_ns = params["source_namespace"]
    if manifest is None:
        return "package %s is not offered by any catalog in %s" % (package, source_ns)
    status = manifest.get("status") or {}
    found = status.get("catalogSource")
    found_ns = status.get("catalogSourceNamespace") or source_ns
    if not offered_by(manifest, source, source_ns):
        return "package %s comes from catalog %s/%s, not from %s/%s" % (package, found_ns, found, source_ns, source)
    channels = channel_names(manifest)
    if params["channel"] not in channels:
        return "package %s has no channel %s in catalog %s (available channels: %s)" % (
            package, params["channel"], source, ", ".join(channels) or "none")
    csvs = channel_csvs(manifest, params["channel"])
    if params["starting_csv"] and params["starting_csv"] not in csvs:
        return "channel %s of package %s has no ClusterServiceVersion %s (available: %s)" % (
            params["channel"], package, params["starting_csv"], ", ".join(csvs) or "none")
    return None


# ------------------------------------------------------------------ what to write


def choose_subscription(subscriptions, params):
    """Decide about the Subscription from every Subscription in the cluster.

    Returns (action, subscription): ``reuse`` (someone else's Subscription
    of the package, or ours under another name or namespace), ``manage``
    (ours, at the requested name) or ``create`` (None). Raises ValueError
    when the requested name already holds a Subscription of another package.
    """
    namespace, name = params["namespace"], params["subscription_name"]
    mine = None
    others = []
    for sub in subscriptions:
        meta = sub.get("metadata") or {}
        at_address = (meta.get("namespace"), meta.get("name")) == (namespace, name)
        package = (sub.get("spec") or {}).get("name")
        if at_address and package != params["package"]:
            raise ValueError("Subscription %s/%s exists for package %s, not %s"
                             % (namespace, name, package, params["package"]))
        if package != params["package"]:
            continue
        if at_address:
            mine = sub
        else:
            others.append(sub)
    if mine is not None and is_ours(mine):
        return "manage", mine
    if mine is not None:
        return "reuse", mine
    if others:
        others.sort(key=lambda s: (is_ours(s), ref(s)))
        return "reuse", others[0]
    return "create", None


def resolved_packages(subscriptions, packages, source, source_namespace):
    """The names of ``packages`` ({name, channel}) that a Subscription resolved by OLM already takes from
    ``source`` at that channel: the catalog offered them, and OLM says when that stops (the state leaves
    AtLatestKnown)."""
    found = set()
    for sub in subscriptions or []:
        spec, status = sub.get("spec") or {}, sub.get("status") or {}
        if (spec.get("source"), spec.get("sourceNamespace")) != (source, source_namespace):
            continue
        if status.get("state") != "AtLatestKnown" or not status.get("installedCSV"):
            continue
        for package in packages:
            if spec.get("name") == package["name"] and spec.get("channel") == package["channel"]:
                found.add(package["name"])
    return sorted(found)


def needs_write(action, subscription, params):
    """Whether the Subscription must be created or patched (so the catalog and namespace must be checked)."""
    if action == "reuse":
        return False
    return action == "create" or subscription_patch(subscription, params) is not None


def build_operator_group(params, labels):
    spec = {}
    if params["operator_group_target_namespaces"]:
        spec["targetNamespaces"] = list(params["operator_group_target_namespaces"])
    return {"apiVersion": OLM_V1, "kind": "OperatorGroup",
            "metadata": {"name": params["operator_group_name"], "namespace": params["namespace"],
                         "labels": dict(labels)},
            "spec": spec}


def subscription_spec(params):
    spec = {
        "name": params["package"],
        "channel": params["channel"],
        "source": params["source"],
        "sourceNamespace": params["source_namespace"],
        "installPlanApproval": params["approval"],
    }
    if params["starting_csv"]:
        spec["startingCSV"] = params["starting_csv"]
    return spec


def build_subscription(params, labels):
    return {"apiVersion": OLM_V1A1, "kind": "Subscription",
            "metadata": {"name": params["subscription_name"], "namespace": params["namespace"],
                         "labels": dict(labels)},
            "spec": subscription_spec(params)}


def subscription_patch(existing, params):
    """Merge patch bringing our Subscription's spec to the parameters; None when equal."""
    want = subscription_spec(params)
    have = existing.get("spec") or {}
    spec = {}
    for key in ("channel", "source", "sourceNamespace", "installPlanApproval", "startingCSV"):
        if have.get(key) != want.get(key):
            spec[key] = want.get(key)  # None removes startingCSV
    return {"spec": spec} if spec else None


# ------------------------------------------------------------------ waiting


def _owned_by(owner, meta):
    """Whether an ownerReference points at the Subscription with metadata ``meta``."""
    if owner.get("kind") != "Subscription":
        return False
    if meta.get("uid"):
        return owner.get("uid") == meta["uid"]
    return owner.get("name") == meta.get("name")


def related_install_plans(plans, subscription):
    """InstallPlans of the Subscription (owner reference or status reference), oldest first."""
    meta = subscription.get("metadata") or {}
    current = ((subscription.get("status") or {}).get("installPlanRef") or {}).get("name")
    out = []
    for plan in plans:
        pmeta = plan.get("metadata") or {}
        owned = any(_owned_by(o, meta) for o in pmeta.get("ownerReferences") or [])
        if owned or (current and pmeta.get("name") == current):
            out.append(plan)
    out.sort(key=lambda p: ((p.get("spec") or {}).get("generation") or 0,
                            (p.get("metadata") or {}).get("creationTimestamp") or "",
                            (p.get("metadata") or {}).get("name") or ""))
    return out


def plan_csvs(plan):
    return list((plan.get("spec") or {}).get("clusterServiceVersionNames") or [])


def plans_to_approve(subscription, plans):
    """Names of the InstallPlans to approve for the Subscription.

    Manual with a startingCSV: only unapproved plans installing that CSV.
    Manual without one: the current plan, only for the initial install
    (nothing installed, no plan approved yet). Automatic: none.
    """
    spec = subscription.get("spec") or {}
    status = subscription.get("status") or {}
    if spec.get("installPlanApproval") != "Manual":
        return []
    pending = [p for p in plans if not (p.get("spec") or {}).get("approved")]
    starting = spec.get("startingCSV")
    if starting:
        return [p["metadata"]["name"] for p in pending if starting in plan_csvs(p)]
    if status.get("installedCSV") or any((p.get("spec") or {}).get("approved") for p in plans):
        return []
    current = (status.get("installPlanRef") or {}).get("name")
    return [p["metadata"]["name"] for p in pending if p["metadata"]["name"] == current][:1]


def target_csv(subscription):
    """The CSV that must succeed: Manual keeps the installed (or pinned) one, Automatic follows currentCSV."""
    spec = subscription.get("spec") or {}
    status = subscription.get("status") or {}
    if spec.get("installPlanApproval") == "Manual":
        return status.get("installedCSV") or spec.get("startingCSV") or status.get("currentCSV") or ""
    return status.get("currentCSV") or ""


def needs_install_plans(subscription):
    """InstallPlans matter (approval, messages) only with Manual approval."""
    return ((subscription or {}).get("spec") or {}).get("installPlanApproval") == "Manual"


def pick_deployments(items, names):
    """name -> Deployment (None when absent) for ``names``, from a list of Deployments."""
    by_name = {((d.get("metadata") or {}).get("name")): d for d in items or []}
    return {name: by_name.get(name) for name in names}


def csv_operator_group(csv):
    """The OperatorGroup OLM recorded on the CSV (annotation olm.operatorGroup); "" when unknown."""
    return (((csv or {}).get("metadata") or {}).get("annotations") or {}).get("olm.operatorGroup") or ""


def csv_deployments(csv):
    spec = (((csv or {}).get("spec") or {}).get("install") or {}).get("spec") or {}
    return [d.get("name") for d in spec.get("deployments") or [] if d.get("name")]


def deployment_ready(dep):
    """Whether a Deployment (None when absent) is ready, by readiness.deployment_state."""
    return dep is not None and rd.deployment_state(dep)[0] == rd.READY


def evaluate(obs):
    """(state, reason) from one look at the cluster.

    ``obs``: ``subscription``, ``csv_name`` and ``csv`` (None when absent).
    ``state`` is ``ready``, ``failed`` or ``waiting``. The phase Succeeded is
    the signal: OLM sets it only once the CSV's Deployments are available, and
    takes it back when one stops being available. (The Deployments themselves
    are read only to explain a CSV that is not ready.)
    """
    csv = obs.get("csv")
    if not obs.get("csv_name"):
        return "waiting", "the Subscription has no current ClusterServiceVersion yet"
    if csv is None:
        return "waiting", "ClusterServiceVersion %s does not exist yet" % obs["csv_name"]
    phase = (csv.get("status") or {}).get("phase") or ""
    if phase == "Failed":
        return "failed", "ClusterServiceVersion %s failed" % obs["csv_name"]
    if phase != "Succeeded":
        return "waiting", "ClusterServiceVersion %s is in phase %s" % (obs["csv_name"], phase or "(none)")
    return "ready", ""


# ------------------------------------------------------------------ reports


def subscription_debug(sub):
    status = (sub or {}).get("status") or {}
    return {
        "name": ((sub or {}).get("metadata") or {}).get("name"),
        "namespace": ((sub or {}).get("metadata") or {}).get("namespace"),
        "state": status.get("state", ""),
        "currentCSV": status.get("currentCSV", ""),
        "installedCSV": status.get("installedCSV", ""),
        "conditions": [{k: c.get(k) for k in ("type", "status", "reason", "message") if c.get(k) is not None}
                       for c in status.get("conditions") or []],
    }


def plan_debug(plan):
    return {"name": plan["metadata"]["name"], "phase": (plan.get("status") or {}).get("phase", ""),
            "approved": bool((plan.get("spec") or {}).get("approved")), "csvs": plan_csvs(plan)}


def csv_debug(name, csv):
    if csv is None:
        return {"name": name, "phase": "", "reason": "", "message": "not found"}
    status = csv.get("status") or {}
    return {"name": name, "phase": status.get("phase", ""), "reason": status.get("reason", ""),
            "message": status.get("message", "")}


def deployment_debug(name, dep):
    if dep is None:
        return {"name": name, "found": False, "conditions": []}
    status = dep.get("status") or {}
    return {"name": name, "found": True, "replicas": (dep.get("spec") or {}).get("replicas", 1),
            "availableReplicas": status.get("availableReplicas") or 0,
            "conditions": [{k: c.get(k) for k in ("type", "status", "reason", "message") if c.get(k) is not None}
                           for c in status.get("conditions") or []]}


def debug(obs):
    """The related objects as last seen, for the failure result."""
    return {
        "subscription": subscription_debug(obs.get("subscription")),
        "install_plans": [plan_debug(p) for p in obs.get("plans") or []],
        "csv": csv_debug(obs.get("csv_name") or "", obs.get("csv")) if obs.get("csv_name") else None,
        "deployments": [deployment_debug(n, d) for n, d in sorted((obs.get("deployments") or {}).items())],
        "last_error": obs.get("error") or "",
    }


def _describe_deployment(namespace, name, dep):
    if dep is None:
        return "Deployment %s/%s: not found" % (namespace, name)
    cond = rd.get_condition(dep, "Available")
    text = "Deployment %s/%s: " % (namespace, name)
    if cond:
        text += "Available=%s" % cond.get("status")
        detail = ": ".join(x for x in (cond.get("reason"), cond.get("message")) if x)
        text += " (%s)" % detail if detail else ""
    else:
        text += "no Available condition"
    info = deployment_debug(name, dep)
    return text + ", %s/%s replicas available" % (info["availableReplicas"], info["replicas"])


def failure_message(component, obs, timeout=None):
    """One message naming the component, what was waited for and the last status seen."""
    sub = obs.get("subscription") or {}
    ns = (sub.get("metadata") or {}).get("namespace", "")
    name = obs.get("csv_name")
    if timeout is None:
        head = "%s failed to install" % component
    else:
        head = "%s is not ready after %ss" % (component, timeout)
    parts = []
    if not name:
        parts.append("waited for Subscription %s status.currentCSV" % ref(sub))
        status = sub.get("status") or {}
        conds = ["%s=%s%s" % (c.get("type"), c.get("status"),
                              " (%s)" % ": ".join(x for x in (c.get("reason"), c.get("message")) if x)
                              if c.get("reason") or c.get("message") else "")
                 for c in status.get("conditions") or [] if c.get("status") == "True"]
        parts.append("last status: state %s%s" % (status.get("state") or "(none)",
                                                  "; " + "; ".join(conds) if conds else ""))
    else:
        parts.append("waited for ClusterServiceVersion %s/%s phase Succeeded" % (ns, name))
        info = csv_debug(name, obs.get("csv"))
        if obs.get("csv") is None:
            parts.append("last status: not found")
        else:
            parts.append("last status: phase %s, reason %s, message: %s"
                         % (info["phase"] or "(none)", info["reason"] or "(none)", info["message"] or "(none)"))
        for dep_name, dep in sorted((obs.get("deployments") or {}).items()):
            if not deployment_ready(dep):
                parts.append(_describe_deployment(ns, dep_name, dep))
    pending = [p for p in obs.get("plans") or [] if not (p.get("spec") or {}).get("approved")
               and (p.get("status") or {}).get("phase") == "RequiresApproval"]
    for plan in pending:
        parts.append("InstallPlan %s/%s for %s waits for approval"
                     % (ns, plan["metadata"]["name"], ", ".join(plan_csvs(plan))))
    if obs.get("error"):
        parts.append("last API error: %s" % obs["error"])
    return head + ": " + "; ".join(parts)
