#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: wait_ready
short_description: Wait until several Kubernetes resources are ready, together
version_added: "0.1.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Polls every resource in O(resources) that is not ready yet, once per
    cycle, until all of them are ready or O(timeout) seconds have passed. The
    resources are waited for together, so the total time is about the time of
    the slowest one, not the sum.
  - Without O(resources[].condition), C(Deployment), C(StatefulSet) and C(Job)
    have built-in checks. A Deployment is ready when its status is for its
    current generation, its C(Available) condition is C(True), and its
    available replicas equal its replicas with none unavailable. A StatefulSet
    is ready when its ready replicas equal its replicas and the desired
    replicas, and its current revision is the update revision. A Job is ready
    when its C(Complete) condition is C(True); C(Failed=True) fails at once.
  - Any other kind needs O(resources[].condition). A condition whose status
    or C(observedGeneration) describes an older generation of the object does
    not count yet.
  - Transient API errors (no answer, HTTP 429 and 5xx) are retried until the
    timeout.
  - On timeout the task fails with one line per resource that is not ready
    naming its component, kind, namespace and name, what was waited for, and
    the last status seen.
  - The module never changes anything.
extends_documentation_fragment:
  - parodos.orchestrator.cluster
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: In check mode the module returns at once without contacting the cluster.
  diff_mode:
    support: none
options:
  resources:
    description: The resources to wait for.
    type: list
    elements: dict
    required: true
    suboptions:
      api_version:
        description: API version of the resource, for example C(apps/v1).
        type: str
        required: true
        aliases: [apiVersion]
      kind:
        description: Kind of the resource.
        type: str
        required: true
      name:
        description: Name of the resource.
        type: str
        required: true
      namespace:
        description: Namespace of the resource; ignored for cluster-scoped kinds.
        type: str
        default: ""
      component:
        description:
          - Human name used in messages, for example C(Knative Serving).
          - Defaults to the kind and name.
        type: str
      condition:
        description:
          - Condition in C(status.conditions) that means ready. Required for
            kinds without a built-in check.
        type: dict
        suboptions:
          type:
            description: Condition type, for example C(Ready).
            type: str
            required: true
          status:
            description: Condition status that means ready.
            type: str
            default: "True"
            choices: ["True", "False", "Unknown"]
  timeout:
    description: Seconds to wait for all resources together.
    type: int
    default: 600
  sleep:
    description: Seconds between two polling cycles.
    type: float
    default: 2
seealso:
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Wait for Knative Serving and Eventing together
  parodos.orchestrator.wait_ready:
    timeout: 600
    resources:
      - api_version: operator.knative.dev/v1beta1
        kind: KnativeServing
        name: knative-serving
        namespace: knative-serving
        component: Knative Serving
        condition:
          type: Ready
      - api_version: operator.knative.dev/v1beta1
        kind: KnativeEventing
        name: knative-eventing
        namespace: knative-eventing
        component: Knative Eventing
        condition:
          type: Ready

- name: Wait for the Data Index Deployment
  parodos.orchestrator.wait_ready:
    resources:
      - api_version: apps/v1
        kind: Deployment
        name: sonataflow-platform-data-index-service
        namespace: sonataflow-infra
        component: Data Index
"""

RETURN = r"""
ready:
  description: Whether every resource was ready. False in check mode.
  returned: always
  type: bool
  sample: true
elapsed:
  description: Seconds the module waited.
  returned: always
  type: float
  sample: 12.4
resources:
  description: One entry per resource, in the order given, with its last status.
  returned: always
  type: list
  elements: dict
  contains:
    component:
      description: Human name of the resource.
      type: str
      sample: Knative Serving
    api_version:
      description: API version.
      type: str
      sample: operator.knative.dev/v1beta1
    kind:
      description: Kind.
      type: str
      sample: KnativeServing
    name:
      description: Name.
      type: str
      sample: knative-serving
    namespace:
      description: Namespace; empty for cluster-scoped resources.
      type: str
      sample: knative-serving
    waited_for:
      description: What readiness means for this resource.
      type: str
      sample: condition Ready=True
    ready:
      description: Whether the resource was seen ready.
      type: bool
      sample: true
    status:
      description: The last status seen, in words.
      type: str
      sample: Ready=True
    conditions:
      description: The last C(status.conditions) seen (type, status, reason, message).
      type: list
      elements: dict
    ready_after:
      description: Seconds after the start at which the resource was first seen ready; null when it was not.
      type: float
      sample: 3.2
    checks:
      description: How many times the resource was read.
      type: int
      sample: 3
"""

import time

from ansible_collections.parodos.orchestrator.plugins.module_utils import (
    k8s,
    readiness as rd,
)


def argument_spec():
    """Auth options of kubernetes.core plus the resources to wait for."""
    return k8s.auth_argument_spec(
        resources=dict(
            type="list", elements="dict", required=True,
            options=dict(
                api_version=dict(type="str", required=True, aliases=["apiVersion"]),
                kind=dict(type="str", required=True),
                name=dict(type="str", required=True),
                namespace=dict(type="str", default=""),
                component=dict(type="str"),
                condition=dict(type="dict", options=dict(
                    type=dict(type="str", required=True),
                    status=dict(type="str", default="True", choices=["True", "False", "Unknown"]),
                )),
            ),
        ),
        timeout=dict(type="int", default=600),
        sleep=dict(type="float", default=2),
    )


class Fatal(Exception):
    """Waiting cannot succeed: stop at once."""


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
        resource, why = self.discovery.resource(item["api_version"], item["kind"])
        if resource is None:
            return None, why
        plural, namespaced = resource
        if namespaced and not item["namespace"]:
            raise Fatal("%s: %s %s is namespaced: set its namespace"
                        % (item["component"], item["kind"], item["name"]))
        if not namespaced:
            item["namespace"] = ""
        return k8s.api_path(item["api_version"], plural, item["namespace"], item["name"]), ""


def check(api, resolver, item, rec):
    """Read one item once and update its record; returns its state."""
    rec["checks"] += 1
    try:
        path, why = resolver.path(item)
        obj = k8s.read(api, path) if path else None
    except k8s.ApiError as exc:
        if k8s.is_transient(exc.status):
            if rec["status"] == "not checked":
                rec["status"] = "no answer yet"
            rec["last_error"] = str(exc)
            return rd.WAITING
        else:
            raise Fatal("%s: reading %s failed: %s" % (item["component"], rd.describe(item), exc))
    rec["namespace"] = item["namespace"]
    if obj is None and why:
        state, text = rd.WAITING, why
    else:
        state, text = rd.evaluate(item, obj)
    rec["status"] = text
    rec["conditions"] = rd.conditions_summary(obj)
    rec.pop("last_error", None)
    return state


def wait_all(api, items, timeout, sleep, start=None, clock=time.monotonic, pause=time.sleep):
    """Poll the items together from ``start``; return (message or None, records, elapsed)."""
    start = clock() if start is None else start
    deadline = start + timeout
    records = [record(item) for item in items]
    resolver = Resolver(api)
    pending = list(range(len(items)))
    while True:
        for index in list(pending):
            item, rec = items[index], records[index]
            try:
                state = check(api, resolver, item, rec)
            except Fatal as exc:
                return str(exc), records, round(clock() - start, 1)
            if state == rd.READY:
                rec["ready"] = True
                rec["ready_after"] = round(clock() - start, 1)
                pending.remove(index)
            elif state == rd.FAILED:
                return rd.failure_message(item, rec["status"]), records, round(clock() - start, 1)
        now = clock()
        if not pending:
            return None, records, round(now - start, 1)
        if now >= deadline:
            lines = []
            for index in pending:
                text = records[index]["status"]
                if records[index].get("last_error"):
                    text = "%s (last request failed: %s)" % (text, records[index]["last_error"])
                lines.append((items[index], text))
            return rd.timeout_message(timeout, lines, len(items)), records, round(now - start, 1)
        pause(max(0.0, min(sleep, deadline - now)))


def connect_with_retries(module, timeout, sleep, clock=time.monotonic, pause=time.sleep):
    """connect(), retrying transient failures until the timeout."""
    deadline = clock() + timeout
    while True:
        api, failure = k8s.connect(module)
        if api is not None or not k8s.is_transient(failure[1]) or clock() >= deadline:
            return api, failure
        pause(max(0.0, min(sleep, deadline - clock())))


def main():
    module = k8s.new_module(argument_spec())
    params = module.params
    items, errors = rd.normalize(params["resources"])
    errors += k8s.timing_errors(params["timeout"], params["sleep"])
    if errors:
        module.fail_json(msg="Invalid options: " + "; ".join(errors), changed=False)
    records = [record(item) for item in items]
    if module.check_mode:
        for rec in records:
            rec["status"] = "not checked in check mode"
        module.exit_json(changed=False, ready=False, elapsed=0.0, resources=records)

    start = time.monotonic()
    api, failure = connect_with_retries(module, params["timeout"], params["sleep"])
    if api is None:
        module.fail_json(msg=k8s.unreachable(failure[2], failure[0]),
                         changed=False, ready=False, elapsed=round(time.monotonic() - start, 1),
                         resources=records)
    message, records, elapsed = wait_all(api, items, params["timeout"], params["sleep"], start=start)
    result = dict(changed=False, ready=message is None, elapsed=elapsed, resources=records)
    if message:
        module.fail_json(msg=message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
