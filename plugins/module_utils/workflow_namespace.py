# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The objects of a workflow namespace: labels and NetworkPolicies (pure builders)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import (
    MANAGED_BY,
    OWNERSHIP_LABELS,
)

WORKFLOW_LABEL = "rhdh.redhat.com/workflow-namespace"
ARGOCD_LABEL = "argocd.argoproj.io/managed-by"
NAME_LABEL = "kubernetes.io/metadata.name"
OWNER = OWNERSHIP_LABELS[MANAGED_BY]

RHDH_POLICY = "allow-rhdh-to-sonataflow-and-workflows"
INTRA_POLICY = "allow-intra-namespace"
POLICY_NAMES = (RHDH_POLICY, INTRA_POLICY)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def ownership_labels(labels):
    """The labels to put on created objects: the given ones, always with the collection's mark."""
    out = dict(labels or {})
    out[MANAGED_BY] = OWNER
    return out


def validate(params):
    """Errors in the options, as a list of strings (empty when fine)."""
    errors = []
    mark = (params.get("labels") or {}).get(MANAGED_BY, OWNER)
    if mark != OWNER:
        errors.append("labels: %s must be %s (the mark of the objects of the collection), got %r"
                      % (MANAGED_BY, OWNER, mark))
    if not params.get("rhdh_namespace"):
        errors.append("no RHDH namespace known: set rhdh_namespace (orchestrator_rhdh_namespace in the roles) "
                      "to the namespace where Red Hat Developer Hub runs")
    named = [("name", params.get("name"))]
    if params.get("rhdh_namespace"):
        named.append(("rhdh_namespace", params["rhdh_namespace"]))
    if params.get("argocd_namespace"):
        named.append(("argocd_namespace", params["argocd_namespace"]))
    named += [("knative_namespaces", ns) for ns in params.get("knative_namespaces") or []]
    named += [("admit_namespaces", ns) for ns in params.get("admit_namespaces") or []]
    for option, value in named:
        if not value or not _DNS_LABEL.match(value):
            errors.append("%s: %r is not a valid namespace name" % (option, value or ""))
    return errors


def admitted(rhdh_namespace, knative_namespaces, admit_namespaces):
    """Namespaces admitted by name, in order, without repeats."""
    out = []
    for ns in [rhdh_namespace] + list(knative_namespaces or []) + list(admit_namespaces or []):
        if ns and ns not in out:
            out.append(ns)
    return out


def namespace_peer(namespace):
    return {"namespaceSelector": {"matchLabels": {NAME_LABEL: namespace}}}


def rhdh_policy_spec(rhdh_namespace, knative_namespaces, admit_namespaces):
    """Ingress from RHDH, the workflow namespaces, Knative and the admitted namespaces."""
    names = admitted(rhdh_namespace, knative_namespaces, admit_namespaces)
    peers = [namespace_peer(names[0]), {"namespaceSelector": {"matchLabels": {WORKFLOW_LABEL: ""}}}]
    peers += [namespace_peer(ns) for ns in names[1:]]
    return {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": peers}]}


def intra_policy_spec():
    """Ingress between the pods of the namespace."""
    return {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}


def network_policy(name, namespace, spec, labels):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
            "spec": copy.deepcopy(spec)}


def desired_policies(params):
    """The NetworkPolicies of the namespace, in order."""
    labels = ownership_labels(params.get("labels"))
    specs = {RHDH_POLICY: rhdh_policy_spec(params["rhdh_namespace"], params.get("knative_namespaces"),
                                           params.get("admit_namespaces")),
             INTRA_POLICY: intra_policy_spec()}
    return [network_policy(name, params["name"], specs[name], labels) for name in POLICY_NAMES]


def namespace_labels(params, ours):
    """The labels the namespace must have; ownership labels only when it is ours."""
    wanted = {WORKFLOW_LABEL: ""}
    if params.get("argocd_namespace"):
        wanted[ARGOCD_LABEL] = params["argocd_namespace"]
    if ours:
        wanted.update(ownership_labels(params.get("labels")))
    return wanted


def namespace_object(params):
    """A new namespace: ours, so with the ownership labels."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": params["name"], "labels": namespace_labels(params, True)}}


def label_changes(obj, wanted):
    """The labels of ``wanted`` that ``obj`` lacks or has with another value."""
    actual = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return {key: value for key, value in wanted.items() if actual.get(key) != value}


def merge_patch(current, desired):
    """A JSON merge patch turning ``current`` into ``desired`` ({} when equal).

    Keys only in ``current`` are removed (null); lists are replaced whole.
    """
    patch = {}
    for key, value in desired.items():
        old = current.get(key) if isinstance(current, dict) else None
        if isinstance(value, dict) and isinstance(old, dict):
            sub = merge_patch(old, value)
            if sub:
                patch[key] = sub
        elif old != value or key not in current:
            patch[key] = copy.deepcopy(value)
    for key in current or {}:
        if key not in desired:
            patch[key] = None
    return patch


def policy_patch(existing, desired):
    """The merge patch bringing an existing policy of ours to ``desired`` (None when equal)."""
    patch = {}
    labels = label_changes(existing, desired["metadata"]["labels"])
    if labels:
        patch["metadata"] = {"labels": labels}
    spec = merge_patch(existing.get("spec") or {}, desired["spec"])
    if spec:
        patch["spec"] = spec
    return patch or None


def view(obj):
    """What the diff shows of a namespace or policy: labels (and spec)."""
    if obj is None:
        return None
    out = {"labels": dict((obj.get("metadata") or {}).get("labels") or {})}
    if "spec" in obj and obj.get("kind") != "Namespace":
        out["spec"] = copy.deepcopy(obj["spec"])
    return out
