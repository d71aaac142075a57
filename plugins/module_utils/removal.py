# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""remove_objects: what to select, what to delete, how to report what is stuck (pure decisions),
and ``remove``, which deletes and waits until the objects are gone.

The polling is waiter's; every request is retried by k8s.Api while it fails transiently.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s, waiter

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


# ------------------------------------------------------------------ against the API


def find(api, discovery, item):
    """(plural, objects) of one item; ("", []) when its kind is not served."""
    return k8s.find_objects(api, discovery, item["api_version"], item["kind"], item["namespace"], item["name"],
                            item["label_selector"] if item["name"] else selector(item))


def object_path(item, plural, obj):
    meta = obj["metadata"]
    return k8s.api_path(item["api_version"], plural, meta.get("namespace") or "", meta["name"])


def still_there(api, pending):
    """The (item, plural, object) of ``pending`` still present, as read now (the same uid).

    A read that failed transiently (k8s.Api gave up retrying it) counts as
    still there; any other failure raises.
    """
    still = []
    for item, plural, obj in pending:
        try:
            current = k8s.read(api, object_path(item, plural, obj))
        except k8s.ApiError as exc:
            if not k8s.is_transient(exc.status):
                raise
            current = obj  # no answer this time: look again
        if current is not None and current["metadata"].get("uid") == obj["metadata"].get("uid"):
            still.append((item, plural, current))
    return still


def remove(api, items, check_mode, timeout, sleep, clock=time.monotonic, pause=time.sleep, list_only=False):
    """Delete and wait (or only find, with ``list_only``); returns the result, with ``msg`` set on failure."""
    discovery = k8s.Discovery(api)
    targets, kept = [], []
    for item in items:
        plural, objects = find(api, discovery, item)
        chosen, foreign = pick(item, objects)
        kept.extend(ref(item["kind"], obj) for obj in foreign)
        targets.extend((item, plural, obj) for obj in chosen)
    found = [dict(kind=item["kind"], namespace=obj["metadata"].get("namespace") or "", name=obj["metadata"]["name"])
             for item, _p, obj in targets]
    result = dict(changed=False, removed=[], found=found, kept=kept)
    if list_only:
        return result
    result["removed"] = [ref(item["kind"], obj) for item, _p, obj in targets]
    for item, plural, obj in targets:
        if is_deleting(obj):
            continue
        try:
            api.delete(object_path(item, plural, obj), dry_run=check_mode)
        except k8s.ApiError as exc:
            if exc.status != 404:
                raise
        result["changed"] = True
    if check_mode:
        return result
    pending = list(targets)
    for _elapsed in waiter.polls(waiter.Deadline(timeout, clock, pause), sleep):
        pending = still_there(api, pending)
        if not pending:
            return result
    stuck = [(item["component"], item["kind"], obj) for item, _p, obj in pending]
    result["stuck"] = ["%s (%s)" % (ref(kind, obj), stuck_text(obj)) for _c, kind, obj in stuck]
    result["msg"] = timeout_message(timeout, stuck, len(targets))
    return result
