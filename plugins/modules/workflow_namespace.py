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
  - Ensures that namespaces can run workflows that Red Hat Developer Hub
    reaches (one namespace with O(name), several with O(namespaces)), or,
    with O(state=absent), takes back what it added to them. The namespace gets the label
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
    description: The workflow namespace; set this or O(namespaces).
    type: str
  rhdh_namespace:
    description:
      - Namespace where Red Hat Developer Hub runs; its pods are admitted.
      - Required (not empty) with O(state=present).
    type: str
    default: ""
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
  namespaces:
    description:
      - The namespaces to prepare (or, with O(state=absent), to take back
        from), each with the same options; instead of O(name).
      - The namespace itself is left out of the namespaces its policy admits
        by name (its own pods are admitted by C(allow-intra-namespace)), so
        one list of O(admit_namespaces) serves them all.
    type: list
    elements: dict
    suboptions:
      name:
        description: The namespace.
        type: str
        required: true
      persistence:
        description:
          - Whether workflows there use the PostgreSQL database of
            O(postgresql). The namespace then gets a copy of its credentials
            Secret (same name, type and data, labelled with O(labels) and
            annotated C(parodos.orchestrator/copied-from=<namespace>/<name>)),
            brought back to the source whenever that changes; nothing is
            copied into the Secret's own namespace.
          - A Secret of that name that is not such a copy is left as it is,
            with a warning.
        type: bool
        default: false
      schema:
        description: Database schema of the workflows there; empty is the namespace name.
        type: str
        default: ""
  state:
    description:
      - C(present) prepares the namespaces.
      - C(absent) removes from each what the module added and nothing else -
        the two NetworkPolicies when they carry the collection's mark, the
        Secret copies (ours, with the annotation
        C(parodos.orchestrator/copied-from); O(postgresql) is not needed),
        and the labels it set on a namespace it did not create
        (back to their values from before, as recorded in the annotation
        C(parodos.orchestrator/namespace-labels)). A namespace that the
        module created is not removed (that is left to a last step, such as
        parodos.orchestrator.remove_objects, once the namespace holds
        nothing of anyone else); RV(namespaces[].namespace_created) names it.
    type: str
    choices: [present, absent]
    default: present
  postgresql:
    description:
      - The PostgreSQL database of the workflows, needed when a namespace
        wants persistence; RV(namespaces[].persistence) is built from it.
    type: dict
    suboptions:
      secret_name:
        description: Name of the credentials Secret (and of its copies).
        type: str
        required: true
      secret_namespace:
        description: Namespace of the credentials Secret.
        type: str
        required: true
      user_key:
        description: Key of the user name in the Secret.
        type: str
        required: true
      password_key:
        description: Key of the password in the Secret.
        type: str
        required: true
      service_name:
        description: Name of the PostgreSQL Service.
        type: str
        required: true
      service_namespace:
        description: Namespace of the PostgreSQL Service.
        type: str
        required: true
      port:
        description: Port of the Service.
        type: int
        default: 5432
      database:
        description: Database name.
        type: str
        required: true
  wait_timeout:
    description: With O(state=absent), seconds to wait until what was removed is gone.
    type: int
    default: 300
  wait_sleep:
    description: Seconds between two looks while waiting.
    type: float
    default: 1
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

- name: Two namespaces, one with a copy of the database Secret
  parodos.orchestrator.workflow_namespace:
    namespaces:
      - name: team-a
        persistence: true
      - name: team-b
    rhdh_namespace: rhdh-operator
    admit_namespaces: [openshift-serverless-logic, sonataflow-infra]
    postgresql:
      secret_name: sonataflow-psql-postgresql
      secret_namespace: sonataflow-infra
      user_key: postgres-username
      password_key: postgres-password
      service_name: sonataflow-psql-postgresql
      service_namespace: sonataflow-infra
      database: sonataflow
  no_log: true
  register: prepared

- name: Take back what was added to team-b
  parodos.orchestrator.workflow_namespace:
    state: absent
    namespaces:
      - name: team-b
"""

RETURN = r"""
namespace:
  description: The workflow namespace (of O(name)).
  returned: when O(name) is set
  type: str
  sample: sonataflow-infra
namespaces:
  description: Per namespace, in the order given, what was done and what its workflows use.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The namespace.
      type: str
    created:
      description: Objects created in it.
      type: list
      elements: str
    updated:
      description: Objects patched.
      type: list
      elements: str
    kept:
      description: Objects of that name left as they are (not ours).
      type: list
      elements: str
    removed:
      description: With O(state=absent), objects removed.
      type: list
      elements: str
    namespace_created:
      description: Whether the module created the namespace (with O(state=absent), it may be removed last).
      type: bool
    persistence:
      description:
        - The C(spec.persistence.postgresql) of a SonataFlow in the namespace (C(secretRef) with C(name),
          C(userKey), C(passwordKey); C(serviceRef) with C(name), C(namespace), C(port), C(databaseName),
          C(databaseSchema)); null without persistence. No secret value.
      returned: with O(state=present)
      type: dict
removed:
  description: With O(state=absent), the objects removed (all namespaces), as C(Kind namespace/name).
  returned: always
  type: list
  elements: str
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
    removal,
    secrets,
    workflow_namespace as wn,
)

POSTGRESQL_KEYS = ("secret_name", "secret_namespace", "user_key", "password_key", "service_name",
                   "service_namespace", "port", "database")


def argument_spec():
    """Auth options of kubernetes.core plus the namespace settings."""
    return k8s.auth_argument_spec(
        name=dict(type="str"),
        namespaces=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True),
            persistence=dict(type="bool", default=False),
            schema=dict(type="str", default=""),
        )),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        rhdh_namespace=dict(type="str", default=""),
        create=dict(type="bool", default=True),
        labels=dict(type="dict", default=dict(wn.OWNERSHIP_LABELS)),
        knative_namespaces=dict(type="list", elements="str", default=["knative-eventing", "knative-serving"]),
        admit_namespaces=dict(type="list", elements="str", default=[]),
        argocd_namespace=dict(type="str", default=""),
        postgresql=dict(type="dict", options=dict(
            secret_name=dict(type="str", required=True),
            secret_namespace=dict(type="str", required=True, no_log=False),
            user_key=dict(type="str", required=True, no_log=False),
            password_key=dict(type="str", required=True, no_log=False),
            service_name=dict(type="str", required=True),
            service_namespace=dict(type="str", required=True),
            port=dict(type="int", default=5432),
            database=dict(type="str", required=True),
        )),
        wait_timeout=dict(type="int", default=300),
        wait_sleep=dict(type="float", default=1),
    )


class Report:
    """What the run did in one namespace, and its diff."""

    def __init__(self):
        self.created, self.updated, self.kept, self.removed, self.warnings = [], [], [], [], []
        self.before = {"namespace": None, "networkpolicies": {}}
        self.after = {"namespace": None, "networkpolicies": {}}
        self.namespace_created = False

    @property
    def changed(self):
        return bool(self.created or self.updated or self.removed)


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
            report.namespace_created = True
            return False
    if (existing.get("metadata") or {}).get("deletionTimestamp"):
        raise ValueError("the namespace is being deleted; wait until it is gone and run again")
    report.before["namespace"] = wn.view(existing)
    report.namespace_created = wn.created_by_module(existing)
    patch = wn.namespace_patch(existing, params)
    if patch:
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


def ensure_copy(api, params, postgresql, check_mode, report):
    """The copy of the PostgreSQL Secret in the namespace: created, brought back to the source's data and type
    when the source changed, or left (with a warning) when a Secret of that name is not a copy of ours."""
    namespace, name = params["name"], postgresql["secret_name"]
    ref = "Secret/%s/%s" % (namespace, name)
    source_ref = "%s/%s" % (postgresql["secret_namespace"], name)
    source = k8s.read(api, k8s.api_path("v1", "secrets", postgresql["secret_namespace"], name))
    if source is None:
        if not check_mode:
            raise ValueError("the PostgreSQL Secret %s, which is copied to the namespace, does not exist" % source_ref)
        report.created.append(ref)
        report.warnings.append("%s would be copied from %s, which does not exist yet" % (ref, source_ref))
        return

    def decide(existing):
        if existing is not None and not wn.is_copy(existing, postgresql):
            return {"data": {}, "report": {"changes": {}}, "write": False}
        data, remove = wn.copy_plan(source, existing)
        current = secrets.decode_data(existing.get("data")) if existing is not None else None
        data, plan = secrets.plan(current, data, [], remove=remove)
        return {"data": data, "report": plan, "type": source.get("type") or "Opaque",
                "labels": wn.ownership_labels(params.get("labels")), "annotations": wn.copy_annotations(postgresql)}

    try:
        outcome = secrets.ensure(api, name, namespace, decide, check_mode)
    except ValueError as exc:
        raise ValueError("%s: %s" % (ref, exc))
    report.before["secret"], report.after["secret"] = outcome["before"] or None, outcome["after"] or None
    if not outcome["step"].get("write", True):
        report.kept.append(ref)
        report.warnings.append("%s exists and is not a copy made by this collection: it was left as it is; make "
                               "sure it holds the credentials of %s" % (ref, source_ref))
    elif outcome["created"]:
        report.created.append(ref)
    elif outcome["changed"]:
        report.updated.append(ref)


def ensure(api, params, check_mode, entry=None, postgresql=None):
    """Ensure one namespace (``params["name"]``), its policies and, for ``entry`` with persistence, the Secret
    copy; returns a Report."""
    report = Report()
    existing = {}
    if ensure_namespace(api, params, check_mode, report):
        # one list read for both policies
        listed = k8s.read(api, k8s.api_path("networking.k8s.io/v1", "networkpolicies", params["name"])) or {}
        existing = {item["metadata"]["name"]: item for item in listed.get("items") or []}
    for desired in wn.desired_policies(params):
        ensure_policy(api, desired, existing.get(desired["metadata"]["name"]), check_mode, report)
    if entry is not None and wn.needs_copy(entry, postgresql):
        ensure_copy(api, params, postgresql, check_mode, report)
    return report


def remove(api, params, check_mode, entry=None, postgresql=None):
    """Take back from one namespace what ``ensure`` added: our policies, the Secret copy, the recorded labels.

    A namespace the module created is not removed here (it is named in ``namespace_created``, for the caller's
    last step); returns a Report.
    """
    report = Report()
    name = params["name"]
    path = k8s.api_path("v1", "namespaces", name=name)
    existing = k8s.read(api, path)
    if existing is None:
        return report
    report.before["namespace"] = report.after["namespace"] = wn.view(existing)
    report.namespace_created = wn.created_by_module(existing)
    items = [dict(api_version="networking.k8s.io/v1", kind="NetworkPolicy", namespace=name, name=policy)
             for policy in wn.POLICY_NAMES]
    listed = k8s.read(api, k8s.api_path("v1", "secrets", name), {"labelSelector": removal.OWNED_SELECTOR}) or {}
    items += [dict(api_version="v1", kind="Secret", namespace=name, name=secret["metadata"]["name"])
              for secret in listed.get("items") or [] if wn.is_copy(secret, postgresql)]
    items, _errors = removal.normalize(items)
    result = removal.remove(api, items, check_mode, params["wait_timeout"], params["wait_sleep"])
    if result.get("msg"):
        raise ValueError(result["msg"])
    report.removed.extend(result["removed"])
    patch = wn.restore_patch(existing)
    if patch:
        api.merge_patch(path, patch, dry_run=check_mode)
        report.updated.append("Namespace/%s" % name)
        report.after["namespace"] = wn.view(k8s.apply_merge_patch(existing, patch))
    return report


def entries(params):
    """The namespaces to work on: ``namespaces``, or ``name`` alone (no Secret copy)."""
    if params.get("namespaces"):
        return [dict(entry) for entry in params["namespaces"]]
    return [{"name": params["name"], "persistence": False, "schema": ""}]


def problems(params):
    """Errors in the options (the common ones of wn.validate for each namespace), as a list of strings."""
    errors = []
    if bool(params.get("name")) == bool(params.get("namespaces")):
        errors.append("set either name or namespaces")
        return errors
    names = [entry["name"] for entry in entries(params)]
    repeated = sorted(set(n for n in names if names.count(n) > 1))
    if repeated:
        errors.append("namespaces lists %s more than once" % ", ".join(repeated))
    wanted = [entry for entry in entries(params) if entry.get("persistence")]
    if wanted and params["state"] == "present" and not params.get("postgresql"):
        errors.append("persistence is wanted in %s: set postgresql (the Secret and Service of the database)"
                      % ", ".join(entry["name"] for entry in wanted))
    for entry in entries(params):
        one = dict(params, name=entry["name"])
        for error in wn.validate(one, require_rhdh=params["state"] == "present"):
            if error not in errors:
                errors.append(error)
        if entry.get("schema"):
            problem = wn.schema_problem(entry["schema"])
            if problem:
                errors.append("%s: schema %r is not a schema name: %s" % (entry["name"], entry["schema"], problem))
    return errors


def namespace_result(entry, report, params, postgresql):
    out = dict(name=entry["name"], created=report.created, updated=report.updated, kept=report.kept,
               removed=report.removed, namespace_created=report.namespace_created)
    if params["state"] == "present":
        out["persistence"] = (wn.persistence_block(postgresql, entry["name"], entry.get("schema"))
                              if entry.get("persistence") else None)
    return out


def main():
    module = k8s.new_module(argument_spec())
    params = module.params
    title = params.get("name") or ", ".join(entry["name"] for entry in params.get("namespaces") or [])
    errors = problems(params)
    if errors:
        module.fail_json(msg="Workflow namespace %s: %s" % (title, "; ".join(errors)), changed=False)
    api = k8s.connect_or_fail(module)
    postgresql = params.get("postgresql")
    done = []
    for entry in entries(params):
        one = dict(params, name=entry["name"])
        try:
            if params["state"] == "present":
                report = ensure(api, one, module.check_mode, entry, postgresql)
            else:
                report = remove(api, one, module.check_mode, entry, postgresql)
        except (k8s.ApiError, ValueError) as exc:
            module.fail_json(msg="Workflow namespace %s: %s" % (entry["name"], exc),
                             changed=any(r.changed for _e, r in done))
        done.append((entry, report))
    for _entry, report in done:
        for warning in report.warnings:
            module.warn(warning)
    result = dict(changed=any(report.changed for _e, report in done), policies=list(wn.POLICY_NAMES),
                  created=[ref for _e, r in done for ref in r.created],
                  updated=[ref for _e, r in done for ref in r.updated],
                  kept=[ref for _e, r in done for ref in r.kept],
                  removed=[ref for _e, r in done for ref in r.removed],
                  namespaces=[namespace_result(entry, report, params, postgresql) for entry, report in done])
    if params.get("name"):
        result["namespace"] = params["name"]
    if module._diff:
        if params.get("name"):
            result["diff"] = dict(before=done[0][1].before, after=done[0][1].after)
        else:
            result["diff"] = dict(before={e["name"]: r.before for e, r in done},
                                  after={e["name"]: r.after for e, r in done})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
