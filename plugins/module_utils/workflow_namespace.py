# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The objects of a workflow namespace: labels, NetworkPolicies, the copy of the
PostgreSQL Secret and the persistence block of its workflows (pure builders), and
the checks of the list of additional workflow namespaces."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s, removal, secrets
from ansible_collections.parodos.orchestrator.plugins.module_utils import namespace_labels as nl
from ansible_collections.parodos.orchestrator.plugins.module_utils.values import kind_of
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import (
    MANAGED_BY,
    OWNERSHIP_LABELS,
)
from ansible_collections.parodos.orchestrator.plugins.module_utils.secrets import decode_data

WORKFLOW_LABEL = "rhdh.redhat.com/workflow-namespace"
ARGOCD_LABEL = "argocd.argoproj.io/managed-by"
NAME_LABEL = "kubernetes.io/metadata.name"
OWNER = OWNERSHIP_LABELS[MANAGED_BY]

# On a namespace: the collection's one record of what it did to it (see
# namespace_labels). Cleanup reads it to take back only that.
RECORD_ANNOTATION = nl.RECORD
# On a Secret copy: "<namespace>/<name>" of the Secret it copies.
COPY_ANNOTATION = "parodos.orchestrator/copied-from"
RECORDED_LABELS = (WORKFLOW_LABEL, ARGOCD_LABEL)

RHDH_POLICY = "allow-rhdh-to-sonataflow-and-workflows"
INTRA_POLICY = "allow-intra-namespace"
POLICY_NAMES = (RHDH_POLICY, INTRA_POLICY)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# A schema name as the SonataFlow operator passes it on (currentSchema of the
# JDBC URL): 1 to 63 characters (PostgreSQL's identifier length), lower-case
# letters, digits, _ and -, not pg_ (reserved for system schemas).
_SCHEMA = re.compile(r"^[a-z0-9_][-a-z0-9_]{0,62}$")
ENTRY_KEYS = ("name", "persistence", "schema")


def ownership_labels(labels):
    """The labels to put on created objects: the given ones, always with the collection's mark."""
    out = dict(labels or {})
    out[MANAGED_BY] = OWNER
    return out


def validate(params, require_rhdh=True):
    """Errors in the options, as a list of strings (empty when fine); ``require_rhdh``: the RHDH namespace must be
    set (to prepare a namespace, not to take back what was added)."""
    errors = []
    mark = (params.get("labels") or {}).get(MANAGED_BY, OWNER)
    if mark != OWNER:
        errors.append("labels: %s must be %s (the mark of the objects of the collection), got %r"
                      % (MANAGED_BY, OWNER, mark))
    if require_rhdh and not params.get("rhdh_namespace"):
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


def admitted(rhdh_namespace, knative_namespaces, admit_namespaces, own=""):
    """Namespaces admitted by name, in order, without repeats and without ``own`` (the namespace itself)."""
    out = []
    for ns in [rhdh_namespace] + list(knative_namespaces or []) + list(admit_namespaces or []):
        if ns and ns not in out and ns != own:
            out.append(ns)
    return out


def namespace_peer(namespace):
    return {"namespaceSelector": {"matchLabels": {NAME_LABEL: namespace}}}


def rhdh_policy_spec(rhdh_namespace, knative_namespaces, admit_namespaces, own=""):
    """Ingress from RHDH, the workflow namespaces, Knative and the admitted namespaces (but ``own``)."""
    names = admitted(rhdh_namespace, knative_namespaces, admit_namespaces, own)
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
                                           params.get("admit_namespaces"), params["name"]),
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
    """A new namespace: ours, so with the ownership labels, and recorded as created by the module."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": params["name"], "labels": namespace_labels(params, True),
                         "annotations": nl.created_record()}}


def record_changes(obj, changes):
    """The annotations recording what ``changes`` does to the labels of RECORDED_LABELS on ``obj`` (see
    namespace_labels.record_changes)."""
    return nl.record_changes(obj, changes, RECORDED_LABELS)


def namespace_patch(obj, params):
    """The merge patch that gives an existing namespace its labels and records the values they replace; None
    when it has them. A recorded ArgoCD label that is no longer wanted (gitops turned off) goes back to its value
    from before; on a namespace of the collection it comes off."""
    patch = {"metadata": {}}
    if not params.get("argocd_namespace"):
        patch = nl.remove_patch(obj, [ARGOCD_LABEL])[0] or patch
        obj = k8s.apply_merge_patch(obj, patch) if patch["metadata"] else obj
    changes = label_changes(obj, namespace_labels(params, k8s.is_ours(obj)))
    if changes:
        patch["metadata"].setdefault("labels", {}).update(changes)
        patch["metadata"].setdefault("annotations", {}).update(record_changes(obj, changes))
        if not patch["metadata"]["annotations"]:
            del patch["metadata"]["annotations"]
    return patch if patch["metadata"] else None


def created_by_module(obj):
    """Whether the module created the namespace: its record says so, or (made before records were kept) it
    carries the collection's mark and the workflow label but no record."""
    if RECORD_ANNOTATION in ((((obj or {}).get("metadata") or {}).get("annotations")) or {}):
        return bool(nl.read_record(obj).get("created"))
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return k8s.is_ours(obj) and WORKFLOW_LABEL in labels


def restore_patch(obj):
    """The merge patch that takes back what the module did to a namespace it did not create: each recorded label
    back to its value from before (removed when it had none), and the record itself; None when nothing is to do.
    A namespace the module created keeps everything: it is removed whole."""
    if obj is None or created_by_module(obj):
        return None
    return nl.restore_patch(obj)


# ------------------------------------------------------------------ persistence


def persistence_block(postgresql, namespace, schema):
    """The spec.persistence.postgresql of a SonataFlow in ``namespace``: the Secret copy there (same name and
    keys), the PostgreSQL Service, its database and ``schema`` (default: the namespace name)."""
    return {"secretRef": {"name": postgresql["secret_name"], "userKey": postgresql["user_key"],
                          "passwordKey": postgresql["password_key"]},
            "serviceRef": {"name": postgresql["service_name"], "namespace": postgresql["service_namespace"],
                           "port": int(postgresql["port"]), "databaseName": postgresql["database"],
                           "databaseSchema": schema or namespace}}


def needs_copy(entry, postgresql):
    """Whether the namespace of ``entry`` gets a copy of the PostgreSQL Secret (persistence wanted, and the
    Secret is not there already)."""
    return bool(entry.get("persistence")) and entry["name"] != (postgresql or {}).get("secret_namespace")


def copy_annotations(postgresql):
    return {COPY_ANNOTATION: "%s/%s" % (postgresql["secret_namespace"], postgresql["secret_name"])}


def is_copy(obj, postgresql=None):
    """Whether ``obj`` is a Secret copy the module made (ours, and annotated) - of the PostgreSQL Secret of
    ``postgresql`` when given, else of any Secret."""
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    if not (k8s.is_ours(obj) and annotations.get(COPY_ANNOTATION)):
        return False
    return not postgresql or annotations[COPY_ANNOTATION] == copy_annotations(postgresql)[COPY_ANNOTATION]


def copy_plan(source, existing):
    """(data, remove): the data of the copy (the source's, decoded) and the keys of the copy the source lacks."""
    data = decode_data(source.get("data"))
    old = decode_data((existing or {}).get("data"))
    return data, sorted(key for key in old if key not in data)


# ------------------------------------------------------------------ the list of namespaces


def schema_problem(value):
    """Why ``value`` is not a schema name, or ''."""
    if not isinstance(value, str):
        return "it is a %s, not a string" % kind_of(value)
    if not _SCHEMA.match(value):
        return "it must have 1 to 63 lower-case letters, digits, _ or -"
    if value.startswith("pg_"):
        return "names starting with pg_ are reserved for the system schemas of PostgreSQL"
    return ""


def namespace_entries(value):
    """The entries of a list of names or of {name, persistence, schema}, completed: persistence true by default,
    schema the name by default. Entries that are neither are left out (entries_problems reports them)."""
    out = []
    for item in value if isinstance(value, (list, tuple)) else []:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        persistence = item.get("persistence", True)
        schema = item.get("schema")
        out.append({"name": name, "persistence": persistence,
                    "schema": schema if schema not in (None, "") else name})
    return out


def entries_problems(value, variable, taken=None):
    """Messages for a list of workflow namespaces in ``variable``; ``taken`` maps namespaces that may not be listed
    to the setting that names them (the platform's workflow namespace, ...)."""
    if value is None or value == "":
        return []
    if not isinstance(value, (list, tuple)):
        return ["%s must be a list of namespace names or of mappings with name, persistence (true or false) and "
                "schema; it is a %s." % (variable, kind_of(value))]
    problems, seen = [], {}
    for index, item in enumerate(value):
        where = "%s[%d]" % (variable, index)
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            problems.append("%s must be a namespace name or a mapping with name, persistence and schema; it is a %s."
                            % (where, kind_of(item)))
            continue
        unknown = sorted(str(key) for key in item if key not in ENTRY_KEYS)
        if unknown:
            problems.append("%s has unknown key(s) %s; the keys are %s." % (where, ", ".join(unknown),
                                                                            ", ".join(ENTRY_KEYS)))
        name = item.get("name")
        if not isinstance(name, str) or not _DNS_LABEL.match(name):
            problems.append("%s.name (%s) must be a namespace name: 1 to 63 lower-case letters, digits or -, "
                            "starting and ending with a letter or digit." % (where, name if isinstance(name, str)
                                                                             else json.dumps(name)))
            name = None
        if "persistence" in item and not isinstance(item["persistence"], bool):
            problems.append("%s.persistence (%s) must be true or false (a boolean, not a %s)."
                            % (where, json.dumps(item["persistence"]), kind_of(item["persistence"])))
        schema = item.get("schema")
        if schema not in (None, "") or (name and "schema" not in item):
            problem = schema_problem(schema if schema not in (None, "") else name)
            if problem:
                problems.append("%s.schema (%s) must be a PostgreSQL schema name%s: %s." % (
                    where, schema if isinstance(schema, str) and schema else name,
                    "" if schema not in (None, "") else " (it defaults to the name)", problem))
        if name is None:
            continue
        if name in (taken or {}):
            problems.append("%s.name (%s) is already %s; list each additional namespace once, and not that one."
                            % (where, name, (taken or {})[name]))
        elif name in seen:
            problems.append("%s.name (%s) is listed twice (also at %s[%d]); list each namespace once."
                            % (where, name, variable, seen[name]))
        else:
            seen[name] = index
    return problems


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


# ------------------------------------------------------------------ the workflow_namespace module

POSTGRESQL_KEYS = ("secret_name", "secret_namespace", "user_key", "password_key", "service_name",
                   "service_namespace", "port", "database")


def options():
    """The options of the workflow_namespace module, besides kubernetes.core's connection options."""
    return dict(
        name=dict(type="str"),
        namespaces=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True),
            persistence=dict(type="bool", default=False),
            schema=dict(type="str", default=""),
        )),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        rhdh_namespace=dict(type="str", default=""),
        create=dict(type="bool", default=True),
        labels=dict(type="dict", default=dict(OWNERSHIP_LABELS)),
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
        body = namespace_object(params)
        try:
            api.create(k8s.api_path("v1", "namespaces"), body, dry_run=check_mode)
        except k8s.ApiError as exc:
            if exc.status != 409:
                raise
            existing = k8s.read(api, path)  # created meanwhile by someone else
        if existing is None:
            report.created.append("Namespace/%s" % name)
            report.after["namespace"] = view(body)
            report.namespace_created = True
            return False
    if (existing.get("metadata") or {}).get("deletionTimestamp"):
        raise ValueError("the namespace is being deleted; wait until it is gone and run again")
    report.before["namespace"] = view(existing)
    report.namespace_created = created_by_module(existing)
    patch = namespace_patch(existing, params)
    if patch:
        api.merge_patch(path, patch, dry_run=check_mode)
        report.updated.append("Namespace/%s" % name)
        existing = k8s.apply_merge_patch(existing, patch)
    report.after["namespace"] = view(existing)
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
        report.after["networkpolicies"][name] = view(desired)
        return
    report.before["networkpolicies"][name] = view(existing)
    if not k8s.is_ours(existing):
        report.kept.append(ref)
        report.warnings.append("%s exists and was not created by this collection: it was left as it is; make sure "
                               "it admits what %s admits" % (ref, name))
        report.after["networkpolicies"][name] = view(existing)
        return
    patch = policy_patch(existing, desired)
    if patch:
        api.merge_patch(path, patch, dry_run=check_mode)
        report.updated.append(ref)
        existing = k8s.apply_merge_patch(existing, patch)
    report.after["networkpolicies"][name] = view(existing)


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
        if existing is not None and not is_copy(existing, postgresql):
            return {"data": {}, "report": {"changes": {}}, "write": False}
        data, remove = copy_plan(source, existing)
        current = secrets.decode_data(existing.get("data")) if existing is not None else None
        data, plan = secrets.plan(current, data, [], remove=remove)
        return {"data": data, "report": plan, "type": source.get("type") or "Opaque",
                "labels": ownership_labels(params.get("labels")), "annotations": copy_annotations(postgresql)}

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
    for desired in desired_policies(params):
        ensure_policy(api, desired, existing.get(desired["metadata"]["name"]), check_mode, report)
    if entry is not None and needs_copy(entry, postgresql):
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
    report.before["namespace"] = report.after["namespace"] = view(existing)
    report.namespace_created = created_by_module(existing)
    items = [dict(api_version="networking.k8s.io/v1", kind="NetworkPolicy", namespace=name, name=policy)
             for policy in POLICY_NAMES]
    listed = k8s.read(api, k8s.api_path("v1", "secrets", name), {"labelSelector": removal.OWNED_SELECTOR}) or {}
    items += [dict(api_version="v1", kind="Secret", namespace=name, name=secret["metadata"]["name"])
              for secret in listed.get("items") or [] if is_copy(secret, postgresql)]
    items, _errors = removal.normalize(items)
    result = removal.remove(api, items, check_mode, params["wait_timeout"], params["wait_sleep"])
    if result.get("msg"):
        raise ValueError(result["msg"])
    report.removed.extend(result["removed"])
    patch = restore_patch(existing)
    if patch:
        api.merge_patch(path, patch, dry_run=check_mode)
        report.updated.append("Namespace/%s" % name)
        report.after["namespace"] = view(k8s.apply_merge_patch(existing, patch))
    return report


def entries(params):
    """The namespaces to work on: ``namespaces``, or ``name`` alone (no Secret copy)."""
    if params.get("namespaces"):
        return [dict(entry) for entry in params["namespaces"]]
    return [{"name": params["name"], "persistence": False, "schema": ""}]


def problems(params):
    """Errors in the options (the common ones of validate for each namespace), as a list of strings."""
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
        for error in validate(one, require_rhdh=params["state"] == "present"):
            if error not in errors:
                errors.append(error)
        if entry.get("schema"):
            problem = schema_problem(entry["schema"])
            if problem:
                errors.append("%s: schema %r is not a schema name: %s" % (entry["name"], entry["schema"], problem))
    return errors


def namespace_result(entry, report, params, postgresql):
    out = dict(name=entry["name"], created=report.created, updated=report.updated, kept=report.kept,
               removed=report.removed, namespace_created=report.namespace_created)
    if params["state"] == "present":
        out["persistence"] = (persistence_block(postgresql, entry["name"], entry.get("schema"))
                              if entry.get("persistence") else None)
    return out


def run_module(module):
    """What the workflow_namespace module does, for ``module`` (an AnsibleModule, or a step of converge)."""
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
    result = dict(changed=any(report.changed for _e, report in done), policies=list(POLICY_NAMES),
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
