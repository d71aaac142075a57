#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: namespace_labels
short_description: Put labels on existing namespaces, or take off the ones the collection added
version_added: "0.2.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Labels namespaces that may belong to someone else, such as the ArgoCD namespace made with its ArgoCD
    instance. The collection's modules never change a namespace otherwise.
  - With O(state=present), each label that the namespace lacks or has with another value is set, in one merge
    patch per namespace. On a namespace that is not the collection's, the value each label had before (or that
    it had none) is recorded in the annotation C(parodos.orchestrator/namespace-labels), the one record of the
    collection on a namespace (parodos.orchestrator.workflow_namespace keeps it too).
  - With O(state=absent), only what the collection set is taken back - each recorded label returns to its
    value from before (or comes off when it had none) and, on a namespace that carries the collection's mark
    C(app.kubernetes.io/managed-by=parodos.orchestrator), every label named comes off. A label the collection
    never changed stays.
  - A namespace that does not exist (or is being deleted) is left out and reported; nothing is created.
  - Nothing is sent when every namespace is already as wanted.
extends_documentation_fragment:
  - parodos.orchestrator.cluster
  - parodos.orchestrator.cluster.WRITES
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: Patches are sent with C(dryRun=All).
  diff_mode:
    support: full
    details: Shows the labels (and the record of added labels) of each namespace changed.
options:
  namespaces:
    description: The namespaces and their labels.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the namespace.
        type: str
        required: true
      labels:
        description:
          - Labels to put on the namespace (O(state=present)), or whose keys to take off (O(state=absent); the
            values are not compared).
          - The collection's mark (C(app.kubernetes.io/managed-by), C(app.kubernetes.io/part-of)) cannot be given.
        type: dict
        required: true
  state:
    description: C(present) puts the labels on, C(absent) takes off those the collection added.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: parodos.orchestrator.workflow_namespace
"""

EXAMPLES = r"""
- name: Label the ArgoCD namespace for Developer Hub
  parodos.orchestrator.namespace_labels:
    namespaces:
      - name: orchestrator-gitops
        labels:
          rhdh.redhat.com/argocd-namespace: ""

- name: Take that label off again, when the collection added it
  parodos.orchestrator.namespace_labels:
    state: absent
    namespaces:
      - name: orchestrator-gitops
        labels:
          rhdh.redhat.com/argocd-namespace: ""
"""

RETURN = r"""
namespaces:
  description: One entry per namespace, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The namespace.
      type: str
    action:
      description: C(labelled), C(unlabelled), C(keep), C(missing) (it does not exist) or C(terminating).
      type: str
    labels:
      description: The label keys set (present) or taken off (absent) by this run.
      type: list
      elements: str
    recorded:
      description: The label keys this run added and recorded as the collection's (present only).
      type: list
      elements: str
missing:
  description: The namespaces that do not exist.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils import namespace_labels as nl


def argument_spec():
    return k8s.auth_argument_spec(**nl.options())


def main():
    nl.run_module(k8s.new_module(argument_spec()))


if __name__ == "__main__":
    main()
