# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Labels the collection puts on namespaces it may not own, and takes off again (pure functions).

The one record of the collection on a namespace is the annotation ``RECORD``, a JSON object:
``{"created": true}`` on a namespace the collection made (everything on it is the collection's),
else ``{"labels": {key: value before, or null}}`` with, for each label the collection set on a
namespace that is not its own, the value it had before the first change. Taking a label off
puts that value back (or removes the label when it had none); a label the collection never
changed stays as it is. On a namespace of the collection (k8s.is_ours) every label asked for
counts as its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s

RECORD = "parodos.orchestrator/namespace-labels"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def label_key_problem(key):
    """Why ``key`` is not a label key ([prefix/]name), or ''."""
    if not isinstance(key, str) or not key:
        return "a label key must be a non-empty string"
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _PREFIX.match(prefix)):
        return "the prefix of %s is not a DNS subdomain" % key
    if not _LABEL_NAME.match(name):
        return "%s is not a label key: at most 63 letters, digits, -, _ and ., starting and ending with a letter " \
               "or digit" % key
    return ""


def validate(namespaces, state):
    """Errors in the ``namespaces`` option ([{name, labels}]), as strings."""
    errors = []
    for index, entry in enumerate(namespaces or []):
        where = "namespaces[%d]" % index
        name = entry.get("name")
        if not isinstance(name, str) or not _DNS_LABEL.match(name):
            errors.append("%s.name: %r is not a namespace name" % (where, name))
        labels = entry.get("labels") or {}
        if not labels:
            errors.append("%s.labels: name at least one label" % where)
        for key, value in labels.items():
            problem = label_key_problem(key)
            if problem:
                errors.append("%s.labels: %s" % (where, problem))
            if key == k8s.MANAGED_BY or key in k8s.OWNERSHIP_LABELS:
                errors.append("%s.labels: %s is the collection's mark, not a label to add" % (where, key))
            if state == "present" and (not isinstance(value, str) or not _LABEL_VALUE.match(value)):
                errors.append("%s.labels.%s: %r is not a label value" % (where, key, value))
    return errors


def _labels(obj):
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def read_record(obj):
    """The record on a namespace ({} when there is none or it is not a JSON object)."""
    text = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(RECORD)
    try:
        record = json.loads(text) if text else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def created_record():
    """The annotations of a namespace the collection makes."""
    return {RECORD: json.dumps({"created": True}, sort_keys=True)}


def record_changes(obj, changes, keys=None):
    """The annotations that record, for each label ``changes`` sets on ``obj`` (only those in ``keys`` when
    given), the value it had before (None when absent); {} when nothing new is to be recorded or the collection
    made the namespace. A value recorded once is kept: it is the value from before the first change."""
    record = read_record(obj)
    if record.get("created"):
        return {}
    before = dict(record.get("labels") or {})
    actual = _labels(obj)
    new = {key: actual.get(key) for key in changes
           if (keys is None or key in keys) and key not in before and actual.get(key) != changes[key]}
    if not new:
        return {}
    before.update(new)
    return {RECORD: json.dumps({"labels": before}, sort_keys=True)}


def restore_patch(obj, keys=None):
    """The merge patch that puts back the recorded labels of ``obj`` (those in ``keys`` when given) as they were
    before, and takes them out of the record (the record goes when it is empty); None when nothing is to do."""
    if obj is None:
        return None
    record = read_record(obj)
    before = dict(record.get("labels") or {})
    chosen = {key: value for key, value in before.items() if keys is None or key in keys}
    has_record = RECORD in ((obj.get("metadata") or {}).get("annotations") or {})
    if not chosen and not (keys is None and has_record and not record.get("created")):
        return None
    actual = _labels(obj)
    left = {key: value for key, value in before.items() if key not in chosen}
    patch = {"metadata": {"annotations": {RECORD: json.dumps({"labels": left}, sort_keys=True) if left else None}}}
    labels = {key: value for key, value in chosen.items()
              if actual.get(key) != value and (value is not None or key in actual)}
    if labels:
        patch["metadata"]["labels"] = labels
    return patch


def add_patch(namespace, labels):
    """(merge patch or None, keys recorded) that puts ``labels`` on ``namespace`` and records what they replace."""
    current = _labels(namespace)
    changes = {key: value for key, value in labels.items() if current.get(key) != value}
    if not changes:
        return None, []
    patch = {"metadata": {"labels": changes}}
    record = {} if k8s.is_ours(namespace) else record_changes(namespace, changes)
    if not record:
        return patch, []
    patch["metadata"]["annotations"] = record
    return patch, sorted(key for key in changes if key not in (read_record(namespace).get("labels") or {}))


def remove_patch(namespace, keys):
    """(merge patch or None, keys changed) that takes off those of ``keys`` that the collection set: back to
    their recorded value, or off when the namespace is the collection's."""
    current, before = _labels(namespace), read_record(namespace).get("labels") or {}
    patch = restore_patch(namespace, keys) or {"metadata": {}}
    if k8s.is_ours(namespace):
        for key in keys:
            if key in current and key not in before:
                patch["metadata"].setdefault("labels", {})[key] = None
    changed = sorted((patch["metadata"].get("labels") or {}))
    return (patch if patch["metadata"] else None), changed


def view(namespace):
    """What a diff shows of a namespace: its labels and the record."""
    if namespace is None:
        return None
    meta = namespace.get("metadata") or {}
    out = {"labels": dict(meta.get("labels") or {})}
    if (meta.get("annotations") or {}).get(RECORD):
        out["annotations"] = {RECORD: meta["annotations"][RECORD]}
    return out


def run(api, namespaces, state, check_mode):
    """Label (``present``) or unlabel (``absent``) each namespace; returns (results, diff before, diff after).

    A namespace that does not exist is reported as missing and left out.
    """
    results, before, after = [], {}, {}
    for entry in namespaces:
        name, labels = entry["name"], dict(entry.get("labels") or {})
        path = k8s.api_path("v1", "namespaces", name=name)
        current = k8s.read(api, path)
        record = {"name": name, "action": "missing", "labels": []}
        results.append(record)
        if current is None:
            continue
        if (current.get("metadata") or {}).get("deletionTimestamp"):
            record["action"] = "terminating"
            continue
        if state == "present":
            patch, keys = add_patch(current, labels)
            changed_keys = sorted(patch["metadata"]["labels"]) if patch else []
        else:
            patch, keys = remove_patch(current, list(labels))
            changed_keys = keys
        record["labels"] = changed_keys
        record["recorded"] = keys if state == "present" else []
        if patch is None:
            record["action"] = "keep"
            continue
        before[name] = view(current)
        api.merge_patch(path, patch, dry_run=check_mode)
        after[name] = view(k8s.apply_merge_patch(current, patch))
        record["action"] = "labelled" if state == "present" else "unlabelled"
        if state == "absent" and not changed_keys:
            record["action"] = "keep"  # only the record changed
    return results, before, after


# ------------------------------------------------------------------ the namespace_labels module

def options():
    """The options of the namespace_labels module, besides kubernetes.core's connection options."""
    return dict(
        namespaces=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            labels=dict(type="dict", required=True),
        )),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )


def run_module(module):
    """What the namespace_labels module does, for ``module`` (an AnsibleModule, or a step of converge)."""
    params = module.params
    errors = validate(params["namespaces"], params["state"])
    if errors:
        module.fail_json(msg="Invalid options: " + "; ".join(errors), changed=False)
    api = k8s.connect_or_fail(module, changed=False)
    try:
        results, before, after = run(api, params["namespaces"], params["state"], module.check_mode)
    except k8s.ApiError as exc:
        module.fail_json(msg="Namespace labels: %s (HTTP %s)" % (exc, exc.status), changed=False)
    result = dict(changed=bool(before), namespaces=results,
                  missing=[r["name"] for r in results if r["action"] == "missing"])
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)
