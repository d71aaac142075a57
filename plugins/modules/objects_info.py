#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: objects_info
short_description: Read Kubernetes objects, retrying what API servers fail transiently
version_added: "0.1.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Reads the object O(name) of a kind, or lists the objects of the kind in
    O(namespace) (in every namespace when it is empty) that match
    O(label_selectors), and returns them in RV(resources), as
    M(kubernetes.core.k8s_info) does.
  - Each request is retried while the API server answers with a transient
    failure (no answer, 408, 429 with its C(Retry-After), 500, 502, 503, 504),
    up to O(wait_timeout) seconds; any other failure fails the task at once,
    naming the kind and the object.
  - A kind that the cluster does not serve gives no resources and
    RV(api_found) false. Plural and scope come from the API discovery document
    of O(api_version), unless the collection knows the kind.
  - An object read by O(name) is returned only when its labels satisfy the
    equality-based O(label_selectors) (C(key=value)).
extends_documentation_fragment:
  - parodos.orchestrator.cluster
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: Only reads; runs the same in check mode.
  diff_mode:
    support: none
options:
  api_version:
    description: API version of the kind, for example C(apps/v1).
    type: str
    default: v1
  kind:
    description: Kind of the objects, for example C(StatefulSet).
    type: str
    required: true
  name:
    description: Name of the one object to read; empty lists the objects of the kind.
    type: str
    default: ""
  namespace:
    description: Namespace of the objects; empty for every namespace (or a cluster-scoped kind).
    type: str
    default: ""
  label_selectors:
    description: Label selectors the objects must match, all of them (joined with commas).
    type: list
    elements: str
    default: []
  wait_timeout:
    description:
      - Seconds for which a request is retried while the API server answers
        with a transient failure.
    type: int
    default: 120
seealso:
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Read the PostgreSQL StatefulSet
  parodos.orchestrator.objects_info:
    api_version: apps/v1
    kind: StatefulSet
    name: sonataflow-psql-postgresql
    namespace: sonataflow-infra
  register: statefulset

- name: List the Subscriptions of the collection in every namespace
  parodos.orchestrator.objects_info:
    api_version: operators.coreos.com/v1alpha1
    kind: Subscription
    label_selectors:
      - app.kubernetes.io/managed-by=parodos.orchestrator
  register: subscriptions
"""

RETURN = r"""
resources:
  description: The objects found, as the API server returned them; empty when there are none.
  returned: always
  type: list
  elements: dict
api_found:
  description: Whether the cluster serves the kind.
  returned: always
  type: bool
"""

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s


def argument_spec():
    """Auth options of kubernetes.core plus what to read."""
    return k8s.auth_argument_spec(
        api_version=dict(type="str", default="v1"),
        kind=dict(type="str", required=True),
        name=dict(type="str", default=""),
        namespace=dict(type="str", default=""),
        label_selectors=dict(type="list", elements="str", default=[]),
        wait_timeout=dict(type="int", default=120),
    )


def main():
    module = k8s.new_module(argument_spec())
    params = module.params
    api = k8s.connect_or_fail(module, resources=[], api_found=False)
    what = "/".join(part for part in (params["kind"], params["namespace"], params["name"]) if part)
    discovery = k8s.Discovery(api, k8s.RESOURCES)
    try:
        plural, objects = k8s.find_objects(api, discovery, params["api_version"], params["kind"],
                                           params["namespace"], params["name"],
                                           ",".join(params["label_selectors"]))
    except k8s.ApiError as exc:
        module.fail_json(msg="Reading %s (%s) failed: %s (HTTP %s)" % (what, params["api_version"], exc, exc.status),
                         resources=[], api_found=True)
    module.exit_json(changed=False, resources=objects, api_found=bool(plural))


if __name__ == "__main__":
    main()
