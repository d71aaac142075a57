#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: remove_objects
short_description: Remove the objects this collection created and wait until they are gone
version_added: "0.1.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Reads every object that matches O(resources) (by name, or all that match the
    label selector), sends one C(DELETE) for each that is not being deleted yet,
    then polls until all of them are gone.
  - By default only objects that carry the label
    C(app.kubernetes.io/managed-by=parodos.orchestrator) are removed; others
    are left and listed in RV(kept). O(resources[].owned=false) removes by name
    or selector alone (for objects made on our behalf, such as the
    ClusterServiceVersion that OLM installed for our Subscription).
  - A kind that the cluster does not serve means there is nothing of it to
    remove.
  - An object still present after O(timeout) fails the task, with one line per
    object naming its component, kind, namespace and name, when it was marked
    for deletion, its finalizers and its conditions, instead of waiting forever.
  - Dependents are removed in the background (C(propagationPolicy=Background)).
extends_documentation_fragment:
  - parodos.orchestrator.cluster
  - parodos.orchestrator.cluster.WRITES
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: Deletions are sent with C(dryRun=All); RV(removed) lists what would be removed; nothing is waited for.
  diff_mode:
    support: none
options:
  resources:
    description: What to remove.
    type: list
    elements: dict
    required: true
    suboptions:
      api_version:
        description: API version, for example C(rhdh.redhat.com/v1alpha1).
        type: str
        required: true
        aliases: [apiVersion]
      kind:
        description: Kind.
        type: str
        required: true
      namespace:
        description: Namespace; empty for all namespaces, or for a cluster-scoped kind.
        type: str
        default: ""
      name:
        description: Name of one object; empty for every object that matches the selector.
        type: str
        default: ""
      label_selector:
        description: Label selector added to the ownership mark, for example C(app.kubernetes.io/component=rhdh).
        type: str
        default: ""
      owned:
        description: Remove only objects that carry the ownership mark.
        type: bool
        default: true
      exclude:
        description: Names never removed.
        type: list
        elements: str
        default: []
      component:
        description: Human name used in messages; defaults to the kind.
        type: str
  list_only:
    description:
      - Only read and return in RV(found) what matches; nothing is deleted or waited for.
    type: bool
    default: false
  timeout:
    description: Seconds to wait until every object is gone.
    type: int
    default: 300
  sleep:
    description: Seconds between two looks at the cluster while waiting.
    type: float
    default: 2
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Remove Developer Hub's Backstage before its operator
  parodos.orchestrator.remove_objects:
    timeout: 300
    resources:
      - api_version: rhdh.redhat.com/v1alpha1
        kind: Backstage
        label_selector: app.kubernetes.io/component=rhdh
        component: Developer Hub

- name: Find the Secrets of ours in any namespace, without removing them
  parodos.orchestrator.remove_objects:
    list_only: true
    resources:
      - api_version: v1
        kind: Secret
  register: our_secrets

- name: Remove the ClusterServiceVersion that OLM installed for our Subscription
  parodos.orchestrator.remove_objects:
    resources:
      - api_version: operators.coreos.com/v1alpha1
        kind: ClusterServiceVersion
        namespace: rhdh-operator
        name: rhdh-operator.v1.3.1
        owned: false
"""

RETURN = r"""
removed:
  description: The objects removed (in check mode, those that would be), as C(Kind namespace/name).
  returned: always
  type: list
  elements: str
  sample: [Backstage rhdh-operator/backstage]
found:
  description: The objects that matched (and may be removed), before any deletion.
  returned: always
  type: list
  elements: dict
  sample: [{kind: Backstage, namespace: rhdh-operator, name: backstage}]
kept:
  description: Objects that matched but do not carry the ownership mark, left as they are.
  returned: always
  type: list
  elements: str
stuck:
  description: On timeout, the objects still present, with their finalizers and conditions.
  returned: failure
  type: list
  elements: str
"""

import time

from ansible_collections.parodos.orchestrator.plugins.module_utils import (
    k8s,
    removal,
)


def argument_spec():
    return k8s.auth_argument_spec(
        resources=dict(type="list", elements="dict", required=True, options=dict(
            api_version=dict(type="str", required=True, aliases=["apiVersion"]),
            kind=dict(type="str", required=True),
            namespace=dict(type="str", default=""),
            name=dict(type="str", default=""),
            label_selector=dict(type="str", default=""),
            owned=dict(type="bool", default=True),
            exclude=dict(type="list", elements="str", default=[]),
            component=dict(type="str"),
        )),
        list_only=dict(type="bool", default=False),
        timeout=dict(type="int", default=300),
        sleep=dict(type="float", default=2),
    )


def find(api, discovery, item):
    """(collection path, objects) of one item; ("", []) when its kind is not served."""
    resource, _why = discovery.resource(item["api_version"], item["kind"])
    if resource is None:
        return "", []
    plural, namespaced = resource
    namespace = item["namespace"] if namespaced else ""
    if item["name"]:
        obj = k8s.read(api, k8s.api_path(item["api_version"], plural, namespace, item["name"]))
        if obj is not None and item["label_selector"] and not matches(obj, item["label_selector"]):
            obj = None
        return plural, [obj]
    query = {"labelSelector": removal.selector(item)} if removal.selector(item) else None
    listing = k8s.read(api, k8s.api_path(item["api_version"], plural, namespace), query) or {}
    return plural, listing.get("items") or []


def matches(obj, selector):
    """Equality-based selector check for an object read by name."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for part in selector.split(","):
        key, _sep, value = part.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def object_path(item, plural, obj):
    meta = obj["metadata"]
    return k8s.api_path(item["api_version"], plural, meta.get("namespace") or "", meta["name"])


def remove(api, items, check_mode, timeout, sleep, clock=time.monotonic, pause=time.sleep, list_only=False):
    """Delete and wait (or only find, with ``list_only``); returns the result, with ``msg`` set on failure."""
    discovery = k8s.Discovery(api)
    targets, kept = [], []
    for item in items:
        plural, objects = find(api, discovery, item)
        chosen, foreign = removal.pick(item, objects)
        kept.extend(removal.ref(item["kind"], obj) for obj in foreign)
        targets.extend((item, plural, obj) for obj in chosen)
    found = [dict(kind=item["kind"], namespace=obj["metadata"].get("namespace") or "", name=obj["metadata"]["name"])
             for item, _p, obj in targets]
    result = dict(changed=False, removed=[], found=found, kept=kept)
    if list_only:
        return result
    result["removed"] = [removal.ref(item["kind"], obj) for item, _p, obj in targets]
    for item, plural, obj in targets:
        if removal.is_deleting(obj):
            continue
        try:
            api.delete(object_path(item, plural, obj), dry_run=check_mode)
        except k8s.ApiError as exc:
            if exc.status != 404:
                raise
        result["changed"] = True
    if check_mode:
        return result
    deadline = clock() + timeout
    pending = list(targets)
    while pending:
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
        pending = still
        if not pending:
            break
        if clock() >= deadline:
            stuck = [(item["component"], item["kind"], obj) for item, _p, obj in pending]
            result["stuck"] = ["%s (%s)" % (removal.ref(kind, obj), removal.stuck_text(obj))
                               for _c, kind, obj in stuck]
            result["msg"] = removal.timeout_message(timeout, stuck, len(targets))
            return result
        pause(max(0.0, min(sleep, deadline - clock())))
    return result


def main():
    module = k8s.new_module(argument_spec())
    params = module.params
    items, errors = removal.normalize(params["resources"])
    errors += k8s.timing_errors(params["timeout"], params["sleep"])
    if errors:
        module.fail_json(msg="Invalid options: " + "; ".join(errors), changed=False)
    api = k8s.connect_or_fail(module, changed=False)
    try:
        result = remove(api, items, module.check_mode, params["timeout"], params["sleep"],
                        list_only=params["list_only"])
    except k8s.ApiError as exc:
        module.fail_json(msg="Removing objects failed: %s (HTTP %s)" % (exc, exc.status), changed=False)
    if result.get("msg"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
