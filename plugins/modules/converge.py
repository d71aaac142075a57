#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: converge
short_description: Run several of the collection's modules in one task, waiting last
version_added: "0.3.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Runs O(steps) in order. Each step names one of the collection's modules and gives its options; the step does
    exactly what that module does, with this task's connection options, check mode and diff mode, without starting
    a module of its own. A play that would run ten modules in a row runs one.
  - The options of every step are checked against its module's options before the first step runs; a bad option
    fails the task before anything is written, naming the step.
  - What a step waits for (the C(wait) option of M(parodos.orchestrator.apply), every
    M(parodos.orchestrator.wait_ready) step) is waited for after all other steps, in the order of the steps, so
    that everything is written before anything is waited for.
    M(parodos.orchestrator.olm_operator) with its C(wait) option waits in its place, so that what the operator
    serves can be applied by the next steps.
  - A step with O(steps[].skip) is skipped. A step with O(steps[].unless_settled) is skipped when every step it names reported C(changed=false) and
    C(ready) not false.
  - The first step that fails fails the task with that step's message; the steps after it do not run.
  - Values of the options that a module keeps out of its output (C(no_log)), and values read from the cluster
    that a module hides, are hidden in the whole result.
extends_documentation_fragment:
  - parodos.orchestrator.cluster
  - parodos.orchestrator.cluster.WRITES
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details:
      - Every step runs in check mode, as its module does.
  diff_mode:
    support: full
    details:
      - The diff of every step that has one, headed by the step's id.
options:
  steps:
    description: What to run, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      id:
        description:
          - The name of the step, unique in the task, by which the result's C(steps) reports it and O(steps[].unless_settled)
            names it. Default C(<module>[<index>]).
        type: str
      module:
        description: The module whose work the step does.
        type: str
        required: true
        choices: [apply, backend_secret, dynamic_plugins, generated_secret, namespace_labels, olm_operator,
                  preflight, wait_ready, workflow_namespace]
      options:
        description:
          - The options of that module, as the module takes them, without the connection options (the task's are
            used).
        type: dict
        default: {}
      unless_settled:
        description: Ids of earlier steps; when all of them are settled (unchanged, and not unready), this one is skipped.
        type: list
        elements: str
        default: []
      skip:
        description: Skip the step (its options are still checked); it is reported as skipped.
        type: bool
        default: false
"""

EXAMPLES = r"""
- name: Write the namespace and the Secret, then wait until the StatefulSet is ready
  parodos.orchestrator.converge:
    steps:
      - id: database
        module: apply
        options:
          component: PostgreSQL
          definition: "{{ lookup('ansible.builtin.template', 'postgresql.yml.j2') }}"
          wait: true
      - id: credentials
        module: generated_secret
        options:
          name: sonataflow-psql-postgresql
          namespace: sonataflow-infra
          generate:
            - key: postgres-password
  register: converged

- name: Show what the database step created
  ansible.builtin.debug:
    var: converged.steps.database.created
"""

RETURN = r"""
steps:
  description:
    - The result of each step by its id, in order, as its module returns it (without C(invocation) and C(diff)).
    - A skipped step has C(changed=false) and C(skipped=true); a step that failed carries C(failed) and C(msg); a step
      whose wait had not run when another step failed is null; steps after a failure are missing.
  returned: always
  type: dict
  sample:
    database:
      changed: false
      created: []
      updated: []
      kept: [StatefulSet/sonataflow-infra/sonataflow-psql-postgresql]
      reused: []
      ready: true
    credentials:
      changed: false
      generated: []
      changed_keys: []
created:
  description:
    - The objects the steps created, as C(Kind/namespace/name) (the C(created) lists of M(parodos.orchestrator.apply),
      M(parodos.orchestrator.olm_operator) and M(parodos.orchestrator.workflow_namespace), and the ConfigMap of
      M(parodos.orchestrator.dynamic_plugins)); in check mode, what they would create.
  returned: always
  type: list
  elements: str
updated:
  description: The objects the steps updated, from the same steps.
  returned: always
  type: list
  elements: str
failed_step:
  description: The id of the step that failed.
  returned: failure
  type: str
"""

from ansible_collections.parodos.orchestrator.plugins.module_utils import converge as cv
from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s


def argument_spec():
    return k8s.auth_argument_spec(**cv.options())


def main():
    cv.run_module(k8s.new_module(argument_spec()))


if __name__ == "__main__":
    main()
