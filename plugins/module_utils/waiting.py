# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Waiting until several objects are ready, together: the loop of wait_ready.

Readiness itself is module_utils.readiness; the polling is waiter's; every
request is retried by k8s.Api while it fails transiently.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.parodos.orchestrator.plugins.module_utils import (
    k8s,
    readiness as rd,
    waiter,
)


class Fatal(Exception):
    """Waiting cannot succeed: stop at once."""


def resources_of(resources):
    """(items, errors) of the ``resources`` option, their condition given as ``wait_condition``.

    ``condition`` (its alias) is read when ``wait_condition`` is not set.
    """
    raw = []
    for entry in resources or []:
        entry = dict(entry or {})
        condition = entry.pop("wait_condition", None)
        entry["condition"] = condition if condition is not None else entry.get("condition")
        raw.append(entry)
    return rd.normalize(raw)


def record(item):
    """The result entry of one item, before any check."""
    out = {key: item[key] for key in ("component", "api_version", "kind", "name", "namespace")}
    out.update(waited_for=rd.waited_for(item), ready=False, status="not checked", conditions=[],
               ready_after=None, checks=0)
    return out


class Resolver:
    """Object paths of the items, through the shared API discovery."""

    def __init__(self, api):
        self.discovery = k8s.Discovery(api)

    def path(self, item):
        """The object path, or (None, why) while the kind is not served."""
        path, namespaced, why = self.discovery.path(item["api_version"], item["kind"], item["namespace"], item["name"])
        if path is None:
            return None, why
        if namespaced and not item["namespace"]:
            raise Fatal("%s: %s %s is namespaced: set its namespace"
                        % (item["component"], item["kind"], item["name"]))
        if not namespaced:
            item["namespace"] = ""
        return path, ""


def check(api, resolver, item, rec):
    """Read one item once and update its record; returns its state.

    A read that failed transiently (k8s.Api gave up retrying it) leaves the
    item waiting; any other failure is Fatal.
    """
    rec["checks"] += 1
    try:
        path, why = resolver.path(item)
        obj = k8s.read(api, path) if path else None
    except k8s.ApiError as exc:
        if not k8s.is_transient(exc.status):
            raise Fatal("%s: reading %s failed: %s" % (item["component"], rd.describe(item), exc))
        if rec["status"] == "not checked":
            rec["status"] = "no answer yet"
        rec["last_error"] = str(exc)
        return rd.WAITING
    rec["namespace"] = item["namespace"]
    if obj is None and why:
        state, text = rd.WAITING, why
    else:
        state, text = rd.evaluate(item, obj)
    rec["status"] = text
    rec["conditions"] = rd.conditions_summary(obj)
    rec.pop("last_error", None)
    return state


def wait_all(api, items, timeout, sleep, clock=time.monotonic, pause=time.sleep):
    """Poll the items together for ``timeout`` seconds; return (message or None, records, elapsed)."""
    deadline = waiter.Deadline(timeout, clock, pause)
    records = [record(item) for item in items]
    resolver = Resolver(api)
    pending = list(range(len(items)))
    for _elapsed in waiter.polls(deadline, sleep):
        for index in list(pending):
            item, rec = items[index], records[index]
            try:
                state = check(api, resolver, item, rec)
            except Fatal as exc:
                return str(exc), records, deadline.elapsed()
            if state == rd.READY:
                rec["ready"] = True
                rec["ready_after"] = deadline.elapsed()
                pending.remove(index)
            elif state == rd.FAILED:
                return rd.failure_message(item, rec["status"]), records, deadline.elapsed()
        if not pending:
            return None, records, deadline.elapsed()
    lines = []
    for index in pending:
        text = records[index]["status"]
        if records[index].get("last_error"):
            text = "%s (last request failed: %s)" % (text, records[index]["last_error"])
        lines.append((items[index], text))
    return rd.timeout_message(timeout, lines, len(items)), records, deadline.elapsed()


# ------------------------------------------------------------------ the wait_ready module

def options():
    """The options of the wait_ready module, besides kubernetes.core's connection options."""
    return dict(
        resources=dict(
            type="list", elements="dict", required=True,
            options=dict(
                api_version=dict(type="str", required=True, aliases=["apiVersion"]),
                kind=dict(type="str", required=True),
                name=dict(type="str", required=True),
                namespace=dict(type="str", default=""),
                component=dict(type="str"),
                wait_condition=dict(type="dict", aliases=["condition"], options=dict(
                    type=dict(type="str", required=True),
                    status=dict(type="str", default="True", choices=["True", "False", "Unknown"]),
                )),
            ),
        ),
        wait_timeout=dict(type="int", default=600, aliases=["timeout"]),
        wait_sleep=dict(type="float", default=2, aliases=["sleep"]),
    )


def run_module(module):
    """What the wait_ready module does, for ``module`` (an AnsibleModule, or a step of converge)."""
    params = module.params
    items, errors = resources_of(params["resources"])
    errors += k8s.timing_errors(params["wait_timeout"], params["wait_sleep"])
    if errors:
        module.fail_json(msg="Invalid options: " + "; ".join(errors), changed=False)
    records = [record(item) for item in items]
    if module.check_mode:
        for rec in records:
            rec["status"] = "not checked in check mode"
        module.exit_json(changed=False, ready=False, elapsed=0.0, resources=records)
    return waiter.now_or_later(module, lambda: _wait(module, items, records))


def _wait(module, items, records):
    params = module.params
    api, failure = k8s.connect(module)
    if api is None:
        module.fail_json(msg=k8s.unreachable(failure[2], failure[0]),
                         changed=False, ready=False, elapsed=0.0, resources=records)
    message, records, elapsed = wait_all(api, items, params["wait_timeout"], params["wait_sleep"])
    result = dict(changed=False, ready=message is None, elapsed=elapsed, resources=records)
    if message:
        module.fail_json(msg=message, **result)
    module.exit_json(**result)
