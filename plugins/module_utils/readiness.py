# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readiness of Kubernetes objects: predicates and messages.

Everything here is pure: it looks at dicts and returns values, so the
waiting loop of the ``wait_ready`` module stays small.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

READY = "ready"
WAITING = "waiting"
FAILED = "failed"

# Kinds with a built-in predicate (no condition needed). An ArgoCD instance
# says it is ready by its status.phase, not by a condition.
BUILTIN_KINDS = {("apps", "Deployment"), ("apps", "StatefulSet"), ("batch", "Job"), ("argoproj.io", "ArgoCD")}

# The custom resources the collection waits for: (group, kind) -> the condition
# that says ready, and the conditions (type, status, reason) that say it failed
# for good, seen for the object's current generation.
_KNATIVE_RULE = {"type": "Ready", "failed": ()}
_SONATAFLOW_RULE = {"type": "Succeed", "failed": (("Succeed", "False", "Failure"), ("Succeed", "False", "Duplicated"))}
CONDITION_RULES = {
    ("operator.knative.dev", "KnativeServing"): _KNATIVE_RULE,
    ("operator.knative.dev", "KnativeEventing"): _KNATIVE_RULE,
    ("sonataflow.org", "SonataFlowPlatform"): _SONATAFLOW_RULE,
    ("sonataflow.org", "SonataFlowClusterPlatform"): _SONATAFLOW_RULE,
    ("rhdh.redhat.com", "Backstage"): {"type": "Deployed", "failed": (("Deployed", "False", "DeployFailed"),)},
}


def rule_of(api_version, kind):
    """The readiness rule of a kind: {"type", "failed"} for a custom resource, "builtin", or None."""
    key = (split_api_version(api_version)[0], kind)
    if key in BUILTIN_KINDS:
        return "builtin"
    return CONDITION_RULES.get(key)


def split_api_version(api_version):
    """("group", "version"); the core group is ""."""
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


def normalize(resources):
    """Check and complete the ``resources`` option: (items, errors).

    Each item gets ``component`` (default "Kind name"), ``namespace`` ("" when
    cluster-scoped or unknown) and ``condition`` (None or {type, status}).
    """
    items, errors = [], []
    for index, raw in enumerate(resources or []):
        where = "resources[%d]" % index
        item = dict(raw or {})
        missing = [key for key in ("api_version", "kind", "name") if not item.get(key)]
        if missing:
            errors.append("%s: %s must be set" % (where, ", ".join(missing)))
            continue
        item["namespace"] = item.get("namespace") or ""
        item["component"] = item.get("component") or "%s %s" % (item["kind"], item["name"])
        condition = item.get("condition") or None
        rule = rule_of(item["api_version"], item["kind"])
        item["failed"] = ()
        if condition is not None:
            if not condition.get("type"):
                errors.append("%s: condition.type must be set" % where)
                continue
            condition = {"type": condition["type"], "status": str(condition.get("status") or "True")}
            if isinstance(rule, dict) and rule["type"] == condition["type"]:
                item["failed"] = rule["failed"]
        elif isinstance(rule, dict):
            condition = {"type": rule["type"], "status": "True"}
            item["failed"] = rule["failed"]
        elif rule is None:
            errors.append("%s (%s): kind %s has no default readiness check: set condition.type"
                          % (where, item["component"], item["kind"]))
            continue
        item["condition"] = condition
        items.append(item)
    if not items and not errors:
        errors.append("resources must list at least one resource")
    return items, errors


def describe(item):
    """"Kind ns/name" (or "Kind name" when cluster-scoped)."""
    if item.get("namespace"):
        return "%s %s/%s" % (item["kind"], item["namespace"], item["name"])
    return "%s %s" % (item["kind"], item["name"])


def waited_for(item):
    """What readiness means for this item, in words."""
    condition = item.get("condition")
    if condition:
        return "condition %s=%s" % (condition["type"], condition["status"])
    kind = item["kind"]
    if kind == "Deployment":
        return "Deployment Available with all replicas available"
    if kind == "StatefulSet":
        return "StatefulSet with all replicas ready and current"
    if kind == "ArgoCD":
        return "ArgoCD status.phase Available"
    return "Job Complete"


def get_condition(obj, ctype):
    """The first entry of status.conditions with that type, or None."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == ctype:
            return cond
    return None


def condition_text(cond, ctype):
    """"Type=Status (Reason: message)" or "no Type condition yet"."""
    if cond is None:
        return "no %s condition yet" % ctype
    text = "%s=%s" % (ctype, cond.get("status"))
    extra = ": ".join(part for part in (cond.get("reason"), cond.get("message")) if part)
    return "%s (%s)" % (text, extra) if extra else text


def conditions_summary(obj):
    """status.conditions reduced to type, status, reason and message."""
    out = []
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict):
            out.append({key: cond[key] for key in ("type", "status", "reason", "message") if cond.get(key)})
    return out


def _stale(obj, cond=None):
    """Text when the status describes an older generation than the object, else ""."""
    generation = ((obj or {}).get("metadata") or {}).get("generation")
    observed = ((obj or {}).get("status") or {}).get("observedGeneration")
    if cond is not None and cond.get("observedGeneration") is not None:
        observed = cond.get("observedGeneration")
    if generation is not None and observed is not None and observed < generation:
        return "status is for generation %s, object is at generation %s" % (observed, generation)
    return ""


def deployment_state(obj):
    """(state, text) of a Deployment."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    wanted = spec.get("replicas", 1)
    counts = "replicas %s/%s available, %s updated, %s unavailable" % (
        status.get("availableReplicas", 0), wanted, status.get("updatedReplicas", 0),
        status.get("unavailableReplicas", 0))
    available = get_condition(obj, "Available")
    text = "%s; %s" % (condition_text(available, "Available"), counts)
    if status.get("observedGeneration") != (obj.get("metadata") or {}).get("generation"):
        return WAITING, "status is for generation %s, object is at generation %s; %s" % (
            status.get("observedGeneration"), (obj.get("metadata") or {}).get("generation"), text)
    progressing = get_condition(obj, "Progressing")
    if progressing and progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        return FAILED, "%s; %s" % (text, condition_text(progressing, "Progressing"))
    ready = (available is not None and available.get("status") == "True"
             and status.get("availableReplicas", 0) == status.get("replicas", 0) == wanted
             and not status.get("unavailableReplicas"))
    return (READY if ready else WAITING), text


def statefulset_state(obj):
    """(state, text) of a StatefulSet."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    wanted = spec.get("replicas", 1)
    text = "replicas %s/%s ready, %s current" % (
        status.get("readyReplicas", 0), wanted, status.get("currentReplicas", 0))
    stale = _stale(obj)
    if stale:
        return WAITING, "%s; %s" % (stale, text)
    update, current = status.get("updateRevision"), status.get("currentRevision")
    if update and update != current:
        return WAITING, "%s; revision %s rolling out (current %s)" % (text, update, current)
    ready = status.get("readyReplicas", 0) == status.get("replicas", 0) == wanted
    return (READY if ready else WAITING), text


def argocd_state(obj):
    """(state, text) of an ArgoCD instance: ready in phase Available (its Route and admin Secret exist then)."""
    status = obj.get("status") or {}
    phase = status.get("phase") or "none yet"
    parts = ["phase %s" % phase] + ["%s %s" % (part, status[part]) for part in ("server", "repo", "redis")
                                    if status.get(part)]
    return (READY if phase == "Available" else WAITING), ", ".join(parts)


def job_state(obj):
    """(state, text) of a Job: Failed=True fails at once."""
    failed = get_condition(obj, "Failed")
    if failed is not None and failed.get("status") == "True":
        return FAILED, condition_text(failed, "Failed")
    complete = get_condition(obj, "Complete")
    status = obj.get("status") or {}
    text = "%s; %s active, %s succeeded, %s failed" % (
        condition_text(complete, "Complete"), status.get("active", 0), status.get("succeeded", 0),
        status.get("failed", 0))
    ready = complete is not None and complete.get("status") == "True"
    return (READY if ready else WAITING), text


def condition_state(obj, condition, failed=()):
    """(state, text) for a {type, status} condition; ``failed`` lists the (type, status, reason) that fail for good."""
    cond = get_condition(obj, condition["type"])
    text = condition_text(cond, condition["type"])
    stale = _stale(obj, cond)
    if stale:
        return WAITING, "%s; %s" % (text, stale)
    for ctype, cstatus, reason in failed:
        bad = get_condition(obj, ctype)
        if bad is not None and str(bad.get("status")) == cstatus and bad.get("reason") == reason \
                and not _stale(obj, bad):
            return FAILED, condition_text(bad, ctype)
    ready = cond is not None and str(cond.get("status")) == condition["status"]
    return (READY if ready else WAITING), text


def evaluate(item, obj):
    """(state, text) of one item given its object (None = not found)."""
    if obj is None:
        return WAITING, "not found"
    if item.get("condition"):
        return condition_state(obj, item["condition"], item.get("failed") or ())
    kind = item["kind"]
    if kind == "Deployment":
        return deployment_state(obj)
    if kind == "StatefulSet":
        return statefulset_state(obj)
    if kind == "ArgoCD":
        return argocd_state(obj)
    return job_state(obj)


def line(item, status_text):
    """One line of a failure message."""
    return "%s: %s: waiting for %s; last status: %s" % (
        item["component"], describe(item), waited_for(item), status_text)


def timeout_message(timeout, pending, total):
    """The message when some items are still not ready after ``timeout`` seconds.

    ``pending`` is a list of (item, last status text).
    """
    head = "Timed out after %ss: %d of %d resource(s) not ready:" % (timeout, len(pending), total)
    return "\n".join([head] + ["- " + line(item, text) for item, text in pending])


def failure_message(item, status_text):
    """The message when one item failed for good."""
    return "%s: %s failed: %s" % (item["component"], describe(item), status_text)
