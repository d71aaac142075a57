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
    cycle, until all of them are ready or O(wait_timeout) seconds have passed.
    The resources are waited for together, so the total time is about the
    time of the slowest one, not the sum.
  - Without O(resources[].wait_condition), C(Deployment), C(StatefulSet) and
    C(Job) have built-in checks. A Deployment is ready when its status is for
    its current generation, its C(Available) condition is C(True), and its
    available replicas equal its replicas with none unavailable;
    C(Progressing=False) with reason C(ProgressDeadlineExceeded) fails at once.
    A StatefulSet is ready when its ready replicas equal its replicas and the
    desired replicas, and its current revision is the update revision. A Job
    is ready when its C(Complete) condition is C(True); C(Failed=True) fails at
    once.
  - The custom resources the collection installs need no condition either -
    C(KnativeServing) and C(KnativeEventing) (operator.knative.dev) are ready
    with C(Ready=True); C(SonataFlowPlatform) and C(SonataFlowClusterPlatform)
    (sonataflow.org) with C(Succeed=True), and C(Succeed=False) with reason
    C(Failure) or C(Duplicated) fails at once; C(Backstage) (rhdh.redhat.com)
    with C(Deployed=True), and C(Deployed=False) with reason C(DeployFailed)
    fails at once; C(ArgoCD) (argoproj.io) when its C(status.phase) is
    C(Available).
  - Any other kind needs O(resources[].wait_condition). A condition whose
    status or C(observedGeneration) describes an older generation of the
    object does not count yet.
  - Each request is retried while the API server answers with a transient
    failure (no answer, 408, 429 with its C(Retry-After), 500, 502, 503,
    504), up to O(wait_timeout); any other failure fails the task at once.
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
      wait_condition:
        description:
          - Condition in C(status.conditions) that means ready. Required for
            kinds without a built-in check.
          - For a kind with a built-in condition, another condition type
            replaces it (and its conditions that fail at once).
        type: dict
        aliases: [condition]
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
  wait_timeout:
    description:
      - Seconds to wait for all resources together.
      - Also how long a request is retried while the API server answers with a
        transient failure.
    type: int
    default: 600
    aliases: [timeout]
  wait_sleep:
    description: Seconds between two polling cycles.
    type: float
    default: 2
    aliases: [sleep]
seealso:
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Wait for Knative Serving and Eventing together (their condition is built in)
  parodos.orchestrator.wait_ready:
    wait_timeout: 600
    resources:
      - api_version: operator.knative.dev/v1beta1
        kind: KnativeServing
        name: knative-serving
        namespace: knative-serving
        component: Knative Serving
      - api_version: operator.knative.dev/v1beta1
        kind: KnativeEventing
        name: knative-eventing
        namespace: knative-eventing
        component: Knative Eventing

- name: Wait for a custom resource by its condition
  parodos.orchestrator.wait_ready:
    wait_sleep: 5
    resources:
      - api_version: example.com/v1
        kind: Widget
        name: widget
        namespace: demo
        wait_condition:
          type: Available

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

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils import waiting


def argument_spec():
    return k8s.auth_argument_spec(**waiting.options())


def main():
    waiting.run_module(k8s.new_module(argument_spec()))


if __name__ == "__main__":
    main()
