# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pure decisions of remove_objects: what to select, what to delete, how to report what is stuck."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s

OWNED_SELECTOR = "%s=%s" % (k8s.MANAGED_BY, k8s.OWNERSHIP_LABELS[k8s.MANAGED_BY])


def normalize(resources):
    """Check and complete the ``resources`` option: (items, errors)."""
    items, errors = [], []
    for index, raw in enumerate(resources or []):
        item = dict(raw or {})
        missing = [key for key in ("api_version", "kind") if not item.get(key)]
        if missing:
            errors.append("resources[%d]: %s must be set" % (index, ", ".join(missing)))
            continue
        item["namespace"] = item.get("namespace") or ""
        item["name"] = item.get("name") or ""
        item["label_selector"] = item.get("label_selector") or ""
        item["owned"] = item.get("owned") is not False
        item["exclude"] = list(item.get("exclude") or [])
        item["component"] = item.get("component") or item["kind"]
        items.append(item)
    return items, errors


def selector(item):
    """The label selector of a list read: the ownership mark (when ``owned``) and the item's own."""
    parts = [OWNED_SELECTOR] if item["owned"] else []
    if item["label_selector"]:
        parts.append(item["label_selector"])
    return ",".join(parts)


def ref(kind, obj):
    """"Kind ns/name", or "Kind name" when cluster-scoped."""
    meta = obj.get("metadata") or {}
    if meta.get("namespace"):
        return "%s %s/%s" % (kind, meta["namespace"], meta.get("name"))
    return "%s %s" % (kind, meta.get("name"))


def pick(item, objects):
    """(to remove, kept): the objects of one item that may go, and those that are not ours."""
    remove, kept = [], []
    for obj in objects:
        if obj is None or (obj.get("metadata") or {}).get("name") in item["exclude"]:
            continue
        if item["owned"] and not k8s.is_ours(obj):
            kept.append(obj)
        else:
            remove.append(obj)
    return remove, kept


def is_deleting(obj):
    return bool(((obj or {}).get("metadata") or {}).get("deletionTimestamp"))


def stuck_text(obj):
    """Why an object is still there: deletion time, finalizers and conditions."""
    meta = obj.get("metadata") or {}
    parts = []
    if meta.get("deletionTimestamp"):
        parts.append("deleted at %s" % meta["deletionTimestamp"])
    else:
        parts.append("not marked for deletion")
    finalizers = list(meta.get("finalizers") or []) + list((obj.get("spec") or {}).get("finalizers") or [])
    parts.append("finalizers: %s" % (", ".join(finalizers) if finalizers else "none"))
    conditions = []
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if not isinstance(cond, dict):
            continue
        text = "%s=%s" % (cond.get("type"), cond.get("status"))
        extra = ": ".join(part for part in (cond.get("reason"), cond.get("message")) if part)
        conditions.append("%s (%s)" % (text, extra) if extra else text)
    if conditions:
        parts.append("conditions: %s" % "; ".join(conditions))
    return ", ".join(parts)


def timeout_message(timeout, stuck, total):
    """Failure message for (component, kind, object) entries still present after ``timeout`` seconds."""
    head = "Timed out after %ss: %d of %d object(s) not removed:" % (timeout, len(stuck), total)
    return "\n".join([head] + ["- %s: %s is still there (%s)" % (component, ref(kind, obj), stuck_text(obj))
                               for component, kind, obj in stuck])
