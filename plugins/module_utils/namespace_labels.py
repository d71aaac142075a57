# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Labels the collection puts on namespaces it may not own, and takes off again (pure functions).

A label added to a namespace that did not have it is recorded in the namespace's annotation
``ADDED`` (the keys, comma separated), so that only those labels are taken off later; a label that
was there before, with any value, was not added by the collection and stays. On a namespace of the
collection (k8s.is_ours) every label asked for counts as ours.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s

ADDED = "orchestrator.parodos.dev/added-labels"
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


def recorded(namespace):
    """The label keys the collection added to ``namespace``, as its annotation records them."""
    annotations = ((namespace or {}).get("metadata") or {}).get("annotations") or {}
    return [key for key in (annotations.get(ADDED) or "").split(",") if key]


def _record_value(keys):
    return ",".join(sorted(set(keys))) or None


def add_patch(namespace, labels):
    """(merge patch or None, keys added) that puts ``labels`` on ``namespace`` and records the keys it adds."""
    current = (namespace.get("metadata") or {}).get("labels") or {}
    changes = {key: value for key, value in labels.items() if current.get(key) != value}
    added = sorted(key for key in changes if key not in current)
    if not changes:
        return None, []
    patch = {"metadata": {"labels": changes}}
    record = _record_value(recorded(namespace) + added)
    if added and record != _record_value(recorded(namespace)):
        patch["metadata"]["annotations"] = {ADDED: record}
    return patch, added


def remove_patch(namespace, keys):
    """(merge patch or None, keys removed) that takes off those of ``keys`` that the collection added."""
    current = (namespace.get("metadata") or {}).get("labels") or {}
    mine = set(recorded(namespace))
    ours = set(keys) if k8s.is_ours(namespace) else set()
    remove = sorted(key for key in keys if key in current and (key in mine or key in ours))
    left = sorted(mine - set(keys))
    patch = {"metadata": {}}
    if remove:
        patch["metadata"]["labels"] = {key: None for key in remove}
    if mine and left != sorted(mine):
        patch["metadata"]["annotations"] = {ADDED: _record_value(left)}
    return (patch if patch["metadata"] else None), remove


def view(namespace):
    """What a diff shows of a namespace: its labels and the record."""
    if namespace is None:
        return None
    meta = namespace.get("metadata") or {}
    out = {"labels": dict(meta.get("labels") or {})}
    if (meta.get("annotations") or {}).get(ADDED):
        out["annotations"] = {ADDED: meta["annotations"][ADDED]}
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
