#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: workflow_namespace
short_description: Prepare a namespace for SonataFlow workflows
version_added: "0.1.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Ensures that a namespace can run workflows that Red Hat Developer Hub
    reaches. The namespace gets the label
    C(rhdh.redhat.com/workflow-namespace) with an empty value, and two
    NetworkPolicies.
  - C(allow-rhdh-to-sonataflow-and-workflows) selects every pod and admits
    ingress from the RHDH namespace, from every namespace labelled
    C(rhdh.redhat.com/workflow-namespace), from each namespace in
    O(knative_namespaces) and from each namespace in O(admit_namespaces).
  - C(allow-intra-namespace) selects every pod and admits ingress from the
    pods of the same namespace.
  - An absent namespace is created (when O(create) is true) with the
    ownership O(labels). An existing namespace that does not carry the
    collection's mark, the label
    C(app.kubernetes.io/managed-by=parodos.orchestrator), gets the workflow
    label (and the ArgoCD label) but no ownership label.
  - A NetworkPolicy of that name that exists without the ownership mark is
    left as it is, with a warning.
  - Nothing is sent when everything is already as wanted. Changes to existing
    objects are JSON merge patches; in check mode every write is sent with
    C(dryRun=All).
extends_documentation_fragment:
  - parodos.orchestrator.cluster
  - parodos.orchestrator.cluster.WRITES
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: Writes are sent with C(dryRun=All). Policies of a namespace that does not exist yet are reported as created.
  diff_mode:
    support: full
    details: Shows the labels of the namespace and the labels and spec of each NetworkPolicy.
options:
  name:
    description: The workflow namespace.
    type: str
    required: true
  rhdh_namespace:
    description:
      - Namespace where Red Hat Developer Hub runs; its pods are admitted.
      - Required and not empty.
    type: str
    required: true
  create:
    description: Create the namespace when it does not exist; when false, a missing namespace fails the task.
    type: bool
    default: true
  labels:
    description:
      - Ownership labels put on what the module creates and on what it finds
        carrying the collection's mark.
      - The label C(app.kubernetes.io/managed-by=parodos.orchestrator), the
        mark that tells objects of the collection from others, is always
        added; another value for that key fails the task.
    type: dict
    default:
      app.kubernetes.io/managed-by: parodos.orchestrator
      app.kubernetes.io/part-of: orchestrator
  knative_namespaces:
    description: Knative namespaces whose pods are admitted.
    type: list
    elements: str
    default: [knative-eventing, knative-serving]
  admit_namespaces:
    description:
      - Further namespaces whose pods are admitted, for example the
        Serverless Logic operator namespace (without it, deleted workflows are
        never marked unavailable), the monitoring namespace and the PostgreSQL
        namespace.
    type: list
    elements: str
    default: []
  argocd_namespace:
    description:
      - When set, the namespace gets the label
        C(argocd.argoproj.io/managed-by=<argocd_namespace>).
    type: str
    default: ""
seealso:
  - module: parodos.orchestrator.wait_ready
"""

EXAMPLES = r"""
- name: Workflow namespace reachable from RHDH
  parodos.orchestrator.workflow_namespace:
    name: sonataflow-infra
    rhdh_namespace: rhdh-operator
    admit_namespaces:
      - openshift-serverless-logic

- name: Additional workflow namespace managed by ArgoCD
  parodos.orchestrator.workflow_namespace:
    name: team-a-workflows
    rhdh_namespace: rhdh-operator
    admit_namespaces:
      - openshift-serverless-logic
      - sonataflow-infra
    argocd_namespace: orchestrator-gitops
"""

RETURN = r"""
namespace:
  description: The workflow namespace.
  returned: always
  type: str
  sample: sonataflow-infra
policies:
  description: Names of the NetworkPolicies the namespace must have.
  returned: always
  type: list
  elements: str
  sample: [allow-rhdh-to-sonataflow-and-workflows, allow-intra-namespace]
created:
  description: Objects created, as C(Kind/name) or C(Kind/namespace/name).
  returned: always
  type: list
  elements: str
  sample: [Namespace/sonataflow-infra, NetworkPolicy/sonataflow-infra/allow-intra-namespace]
updated:
  description: Objects patched, in the same form.
  returned: always
  type: list
  elements: str
  sample: [Namespace/sonataflow-infra]
kept:
  description: NetworkPolicies that exist without the ownership mark and were left as they are.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.parodos.orchestrator.plugins.module_utils import (
    k8s,
    workflow_namespace as wn,
)


def argument_spec():
    """Auth options of kubernetes.core plus the namespace settings."""
    return k8s.auth_argument_spec(
        name=dict(type="str", required=True),
        rhdh_namespace=dict(type="str", required=True),
        create=dict(type="bool", default=True),
        labels=dict(type="dict", default=dict(wn.OWNERSHIP_LABELS)),
        knative_namespaces=dict(type="list", elements="str", default=["knative-eventing", "knative-serving"]),
        admit_namespaces=dict(type="list", elements="str", default=[]),
        argocd_namespace=dict(type="str", default=""),
    )


class Report:
    """What the run did, and the diff."""

    def __init__(self):
        self.created, self.updated, self.kept, self.warnings = [], [], [], []
        self.before = {"namespace": None, "networkpolicies": {}}
        self.after = {"namespace": None, "networkpolicies": {}}

    @property
    def changed(self):
        return bool(self.created or self.updated)


def ensure_namespace(api, params, check_mode, report):
    """Create or label the namespace; returns True when it exists (or would, in check mode) already."""
    name = params["name"]
    path = k8s.api_path("v1", "namespaces", name=name)
    existing = k8s.read(api, path)
    if existing is None:
        if not params["create"]:
            raise ValueError("the namespace does not exist and create is false")
        body = wn.namespace_object(params)
        try:
            api.create(k8s.api_path("v1", "namespaces"), body, dry_run=check_mode)
        except k8s.ApiError as exc:
            if exc.status != 409:
                raise
            existing = k8s.read(api, path)  # created meanwhile by someone else
        if existing is None:
            report.created.append("Namespace/%s" % name)
            report.after["namespace"] = wn.view(body)
            return False
    if (existing.get("metadata") or {}).get("deletionTimestamp"):
        raise ValueError("the namespace is being deleted; wait until it is gone and run again")
    report.before["namespace"] = wn.view(existing)
    changes = wn.label_changes(existing, wn.namespace_labels(params, k8s.is_ours(existing)))
    if changes:
        patch = {"metadata": {"labels": changes}}
        api.merge_patch(path, patch, dry_run=check_mode)
        report.updated.append("Namespace/%s" % name)
        existing = k8s.apply_merge_patch(existing, patch)
    report.after["namespace"] = wn.view(existing)
    return True


def ensure_policy(api, desired, existing, check_mode, report):
    """Create or patch one NetworkPolicy of ours (``existing``: as read, or None); leave one that is not ours."""
    namespace, name = desired["metadata"]["namespace"], desired["metadata"]["name"]
    ref = "NetworkPolicy/%s/%s" % (namespace, name)
    collection = k8s.api_path("networking.k8s.io/v1", "networkpolicies", namespace)
    path = k8s.api_path("networking.k8s.io/v1", "networkpolicies", namespace, name)
    if existing is None:
        try:
            api.create(collection, desired, dry_run=check_mode)
        except k8s.ApiError as exc:
            if not (exc.status == 404 and check_mode):
                raise
        report.created.append(ref)
        report.after["networkpolicies"][name] = wn.view(desired)
        return
    report.before["networkpolicies"][name] = wn.view(existing)
    if not k8s.is_ours(existing):
        report.kept.append(ref)
        report.warnings.append("%s exists and was not created by this collection: it was left as it is; make sure "
                               "it admits what %s admits" % (ref, name))
        report.after["networkpolicies"][name] = wn.view(existing)
        return
    patch = wn.policy_patch(existing, desired)
    if patch:
        api.merge_patch(path, patch, dry_run=check_mode)
        report.updated.append(ref)
        existing = k8s.apply_merge_patch(existing, patch)
    report.after["networkpolicies"][name] = wn.view(existing)


def ensure(api, params, check_mode):
    """Ensure the namespace and its policies; returns a Report."""
    report = Report()
    existing = {}
    if ensure_namespace(api, params, check_mode, report):
        # one list read for both policies
        listed = k8s.read(api, k8s.api_path("networking.k8s.io/v1", "networkpolicies", params["name"])) or {}
        existing = {item["metadata"]["name"]: item for item in listed.get("items") or []}
    for desired in wn.desired_policies(params):
        ensure_policy(api, desired, existing.get(desired["metadata"]["name"]), check_mode, report)
    return report


def main():
    module = k8s.new_module(argument_spec())
    params = module.params
    errors = wn.validate(params)
    if errors:
        module.fail_json(msg="Workflow namespace %s: %s" % (params["name"], "; ".join(errors)), changed=False)
    api = k8s.connect_or_fail(module)
    try:
        report = ensure(api, params, module.check_mode)
    except (k8s.ApiError, ValueError) as exc:
        module.fail_json(msg="Workflow namespace %s: %s" % (params["name"], exc))
    for warning in report.warnings:
        module.warn(warning)
    result = dict(changed=report.changed, namespace=params["name"], policies=list(wn.POLICY_NAMES),
                  created=report.created, updated=report.updated, kept=report.kept)
    if module._diff:
        result["diff"] = dict(before=report.before, after=report.after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
