#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: apply
short_description: Create, update, keep or reuse Kubernetes objects, optionally waiting until they are ready
version_added: "0.2.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - The one way the collection writes objects. For each object of O(definition), in order, the module reads
    the object and
  - creates it when it does not exist (and its namespace first, with O(labels), when that is missing and
    O(create_namespaces) is true);
  - patches it (JSON merge patch) when it carries the collection's mark, the label
    C(app.kubernetes.io/managed-by=parodos.orchestrator), and differs from what is wanted;
  - keeps it when it already holds every field wanted;
  - reuses it, never changing it, when it exists without that mark; the task warns about it.
  - What the module creates or updates carries the collection's mark, added to O(labels) when they lack it.
  - A namespace that exists is never changed, not even when O(definition) lists it.
  - A create answered C(409 AlreadyExists) (the lost answer of an earlier attempt, or another writer) is decided
    again against what is there.
  - With O(wait), waits until every object with a known readiness rule is ready (Deployment, StatefulSet, Job,
    KnativeServing, KnativeEventing, SonataFlowPlatform, SonataFlowClusterPlatform, Backstage); objects found
    ready are not waited for. A condition that says an object failed for good fails the task at once.
extends_documentation_fragment:
  - parodos.orchestrator.cluster
  - parodos.orchestrator.cluster.WRITES
  - parodos.orchestrator.cluster.WAIT
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details:
      - Creations and updates are sent with C(dryRun=All). An object whose namespace or kind does not exist yet
        cannot be sent as a dry run; it is reported with O(ignore:objects[].sent=false).
  diff_mode:
    support: full
    details:
      - Shows, per object created or updated, the fields the collection sets (labels, annotations, spec, data,
        ...), nothing the server added. Secret values are replaced by C(<redacted>), values that change or are
        added by C(<redacted:changed>).
options:
  definition:
    description:
      - The objects, as a list of mappings, one mapping, or a string of YAML documents (the output of a template).
      - Each needs C(apiVersion), C(kind) and C(metadata.name); namespaced objects need C(metadata.namespace).
    type: raw
    required: true
  labels:
    description:
      - Labels put on every object (and namespace) created or updated, besides its own (its own win).
      - The label C(app.kubernetes.io/managed-by) is always C(parodos.orchestrator); another value fails the task.
    type: dict
    default: {}
  component:
    description: Name of what is applied, used in messages.
    type: str
    default: ""
  create_namespaces:
    description: Create the missing namespace of an object before the object.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Apply Knative Serving and Eventing and wait until both are ready
  parodos.orchestrator.apply:
    component: OpenShift Serverless
    definition: "{{ lookup('ansible.builtin.template', 'knative.yml.j2') }}"
    labels:
      app.kubernetes.io/managed-by: parodos.orchestrator
      app.kubernetes.io/part-of: orchestrator
    wait: true
    wait_timeout: 600

- name: A ConfigMap, kept as it is on later runs
  parodos.orchestrator.apply:
    definition:
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: settings
        namespace: demo
        labels:
          app.kubernetes.io/managed-by: parodos.orchestrator
      data:
        key: value
"""

RETURN = r"""
objects:
  description: One entry per object of O(definition), in order, and per namespace created.
  returned: always
  type: list
  elements: dict
  contains:
    ref:
      description: C(Kind/namespace/name), or C(Kind/name) for a cluster-scoped object.
      type: str
      sample: KnativeServing/knative-serving/knative-serving
    api_version:
      description: The apiVersion.
      type: str
    kind:
      description: The kind.
      type: str
    name:
      description: The name.
      type: str
    namespace:
      description: The namespace, empty when cluster-scoped.
      type: str
    action:
      description: What was done, C(create), C(update), C(keep) or C(reuse).
      type: str
    ready:
      description: Whether the object is ready, when its kind has a readiness rule (else null).
      type: bool
    sent:
      description: False when check mode could not send the dry run (missing namespace or kind).
      type: bool
created:
  description: Objects created (O(ignore:objects[].ref) of each).
  returned: always
  type: list
  elements: str
updated:
  description: Objects updated.
  returned: always
  type: list
  elements: str
kept:
  description: Objects of the collection that were already as wanted.
  returned: always
  type: list
  elements: str
reused:
  description: Objects that exist without the collection's mark, left as they are.
  returned: always
  type: list
  elements: str
ready:
  description: Whether every object with a readiness rule is ready (found ready, or waited for).
  returned: always
  type: bool
"""

from ansible_collections.parodos.orchestrator.plugins.module_utils import apply as ap
from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s


def argument_spec():
    return k8s.auth_argument_spec(**ap.options())


def main():
    ap.run_module(k8s.new_module(argument_spec()))


if __name__ == "__main__":
    main()
