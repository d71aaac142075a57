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
  - An object still present after O(wait_timeout) fails the task, with one line
    per object naming its component, kind, namespace and name, when it was
    marked for deletion, its finalizers and its conditions, instead of waiting
    forever.
  - Dependents are removed in the background (C(propagationPolicy=Background)).
  - Each request is retried while the API server answers with a transient
    failure (no answer, 408, 429 with its C(Retry-After), 500, 502, 503, 504),
    up to O(wait_timeout); any other failure fails the task at once.
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
  wait_timeout:
    description:
      - Seconds to wait until every object is gone.
      - Also how long a request is retried while the API server answers with a
        transient failure.
    type: int
    default: 300
    aliases: [timeout]
  wait_sleep:
    description: Seconds between two looks at the cluster while waiting.
    type: float
    default: 2
    aliases: [sleep]
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Remove Developer Hub's Backstage before its operator
  parodos.orchestrator.remove_objects:
    wait_timeout: 300
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

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s, removal
from ansible_collections.parodos.orchestrator.plugins.module_utils.removal import remove


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
        wait_timeout=dict(type="int", default=300, aliases=["timeout"]),
        wait_sleep=dict(type="float", default=2, aliases=["sleep"]),
    )


def main():
    module = k8s.new_module(argument_spec())
    params = module.params
    items, errors = removal.normalize(params["resources"])
    errors += k8s.timing_errors(params["wait_timeout"], params["wait_sleep"])
    if errors:
        module.fail_json(msg="Invalid options: " + "; ".join(errors), changed=False)
    api = k8s.connect_or_fail(module, changed=False)
    try:
        result = remove(api, items, module.check_mode, params["wait_timeout"], params["wait_sleep"],
                        list_only=params["list_only"])
    except k8s.ApiError as exc:
        module.fail_json(msg="Removing objects failed: %s (HTTP %s)" % (exc, exc.status), changed=False)
    if result.get("msg"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
