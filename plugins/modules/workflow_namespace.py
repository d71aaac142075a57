#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: workflow_namespace
short_description: Prepare a namespace for SonataFlow workflows
version_added: "0.1.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Ensures that namespaces can run workflows that Red Hat Developer Hub
    reaches (one namespace with O(name), several with O(namespaces)), or,
    with O(state=absent), takes back what it added to them. The namespace gets the label
    C(rhdh.redhat.com/workflow-namespace) with an empty value, and two
    NetworkPolicies.
  - C(allow-rhdh-to-sonataflow-and-workflows) selects every pod and admits
    ingress from the RHDH namespace, from every namespace labelled
    C(rhdh.redhat.com/workflow-namespace), from each namespace in
    O(knative_namespaces) and from each namespace in O(admit_namespaces).
  - C(allow-intra-namespace) selects every pod and admits ingress from the
    pods of the same namespace.
  - An absent namespace is created (when O(create) is true) with the
    ownership O(labels). An existing namespace that does not carry the
    collection's mark, the label
    C(app.kubernetes.io/managed-by=parodos.orchestrator), gets the workflow
    label (and the ArgoCD label) but no ownership label.
  - A NetworkPolicy of that name that exists without the ownership mark is
    left as it is, with a warning.
  - Nothing is sent when everything is already as wanted. Changes to existing
    objects are JSON merge patches; in check mode every write is sent with
    C(dryRun=All).
extends_documentation_fragment:
  - parodos.orchestrator.cluster
  - parodos.orchestrator.cluster.WRITES
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: Writes are sent with C(dryRun=All). Policies of a namespace that does not exist yet are reported as created.
  diff_mode:
    support: full
    details: Shows the labels of the namespace and the labels and spec of each NetworkPolicy.
options:
  name:
    description: The workflow namespace; set this or O(namespaces).
    type: str
  rhdh_namespace:
    description:
      - Namespace where Red Hat Developer Hub runs; its pods are admitted.
      - Required (not empty) with O(state=present).
    type: str
    default: ""
  create:
    description: Create the namespace when it does not exist; when false, a missing namespace fails the task.
    type: bool
    default: true
  labels:
    description:
      - Ownership labels put on what the module creates and on what it finds
        carrying the collection's mark.
      - The label C(app.kubernetes.io/managed-by=parodos.orchestrator), the
        mark that tells objects of the collection from others, is always
        added; another value for that key fails the task.
    type: dict
    default:
      app.kubernetes.io/managed-by: parodos.orchestrator
      app.kubernetes.io/part-of: orchestrator
  knative_namespaces:
    description: Knative namespaces whose pods are admitted.
    type: list
    elements: str
    default: [knative-eventing, knative-serving]
  admit_namespaces:
    description:
      - Further namespaces whose pods are admitted, for example the
        Serverless Logic operator namespace (without it, deleted workflows are
        never marked unavailable), the monitoring namespace and the PostgreSQL
        namespace.
    type: list
    elements: str
    default: []
  argocd_namespace:
    description:
      - When set, the namespace gets the label
        C(argocd.argoproj.io/managed-by=<argocd_namespace>).
    type: str
    default: ""
  namespaces:
    description:
      - The namespaces to prepare (or, with O(state=absent), to take back
        from), each with the same options; instead of O(name).
      - The namespace itself is left out of the namespaces its policy admits
        by name (its own pods are admitted by C(allow-intra-namespace)), so
        one list of O(admit_namespaces) serves them all.
    type: list
    elements: dict
    suboptions:
      name:
        description: The namespace.
        type: str
        required: true
      persistence:
        description:
          - Whether workflows there use the PostgreSQL database of
            O(postgresql). The namespace then gets a copy of its credentials
            Secret (same name, type and data, labelled with O(labels) and
            annotated C(parodos.orchestrator/copied-from=<namespace>/<name>)),
            brought back to the source whenever that changes; nothing is
            copied into the Secret's own namespace.
          - A Secret of that name that is not such a copy is left as it is,
            with a warning.
        type: bool
        default: false
      schema:
        description: Database schema of the workflows there; empty is the namespace name.
        type: str
        default: ""
  state:
    description:
      - C(present) prepares the namespaces.
      - C(absent) removes from each what the module added and nothing else -
        the two NetworkPolicies when they carry the collection's mark, the
        Secret copies (ours, with the annotation
        C(parodos.orchestrator/copied-from); O(postgresql) is not needed),
        and the labels it set on a namespace it did not create
        (back to their values from before, as recorded in the annotation
        C(parodos.orchestrator/namespace-labels)). A namespace that the
        module created is not removed (that is left to a last step, such as
        parodos.orchestrator.remove_objects, once the namespace holds
        nothing of anyone else); RV(namespaces[].namespace_created) names it.
    type: str
    choices: [present, absent]
    default: present
  postgresql:
    description:
      - The PostgreSQL database of the workflows, needed when a namespace
        wants persistence; RV(namespaces[].persistence) is built from it.
    type: dict
    suboptions:
      secret_name:
        description: Name of the credentials Secret (and of its copies).
        type: str
        required: true
      secret_namespace:
        description: Namespace of the credentials Secret.
        type: str
        required: true
      user_key:
        description: Key of the user name in the Secret.
        type: str
        required: true
      password_key:
        description: Key of the password in the Secret.
        type: str
        required: true
      service_name:
        description: Name of the PostgreSQL Service.
        type: str
        required: true
      service_namespace:
        description: Namespace of the PostgreSQL Service.
        type: str
        required: true
      port:
        description: Port of the Service.
        type: int
        default: 5432
      database:
        description: Database name.
        type: str
        required: true
  wait_timeout:
    description: With O(state=absent), seconds to wait until what was removed is gone.
    type: int
    default: 300
  wait_sleep:
    description: Seconds between two looks while waiting.
    type: float
    default: 1
seealso:
  - module: parodos.orchestrator.wait_ready
"""

EXAMPLES = r"""
- name: Workflow namespace reachable from RHDH
  parodos.orchestrator.workflow_namespace:
    name: sonataflow-infra
    rhdh_namespace: rhdh-operator
    admit_namespaces:
      - openshift-serverless-logic

- name: Additional workflow namespace managed by ArgoCD
  parodos.orchestrator.workflow_namespace:
    name: team-a-workflows
    rhdh_namespace: rhdh-operator
    admit_namespaces:
      - openshift-serverless-logic
      - sonataflow-infra
    argocd_namespace: orchestrator-gitops

- name: Two namespaces, one with a copy of the database Secret
  parodos.orchestrator.workflow_namespace:
    namespaces:
      - name: team-a
        persistence: true
      - name: team-b
    rhdh_namespace: rhdh-operator
    admit_namespaces: [openshift-serverless-logic, sonataflow-infra]
    postgresql:
      secret_name: sonataflow-psql-postgresql
      secret_namespace: sonataflow-infra
      user_key: postgres-username
      password_key: postgres-password
      service_name: sonataflow-psql-postgresql
      service_namespace: sonataflow-infra
      database: sonataflow
  no_log: true
  register: prepared

- name: Take back what was added to team-b
  parodos.orchestrator.workflow_namespace:
    state: absent
    namespaces:
      - name: team-b
"""

RETURN = r"""
namespace:
  description: The workflow namespace (of O(name)).
  returned: when O(name) is set
  type: str
  sample: sonataflow-infra
namespaces:
  description: Per namespace, in the order given, what was done and what its workflows use.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The namespace.
      type: str
    created:
      description: Objects created in it.
      type: list
      elements: str
    updated:
      description: Objects patched.
      type: list
      elements: str
    kept:
      description: Objects of that name left as they are (not ours).
      type: list
      elements: str
    removed:
      description: With O(state=absent), objects removed.
      type: list
      elements: str
    namespace_created:
      description: Whether the module created the namespace (with O(state=absent), it may be removed last).
      type: bool
    persistence:
      description:
        - The C(spec.persistence.postgresql) of a SonataFlow in the namespace (C(secretRef) with C(name),
          C(userKey), C(passwordKey); C(serviceRef) with C(name), C(namespace), C(port), C(databaseName),
          C(databaseSchema)); null without persistence. No secret value.
      returned: with O(state=present)
      type: dict
removed:
  description: With O(state=absent), the objects removed (all namespaces), as C(Kind namespace/name).
  returned: always
  type: list
  elements: str
policies:
  description: Names of the NetworkPolicies the namespace must have.
  returned: always
  type: list
  elements: str
  sample: [allow-rhdh-to-sonataflow-and-workflows, allow-intra-namespace]
created:
  description: Objects created, as C(Kind/name) or C(Kind/namespace/name).
  returned: always
  type: list
  elements: str
  sample: [Namespace/sonataflow-infra, NetworkPolicy/sonataflow-infra/allow-intra-namespace]
updated:
  description: Objects patched, in the same form.
  returned: always
  type: list
  elements: str
  sample: [Namespace/sonataflow-infra]
kept:
  description: NetworkPolicies that exist without the ownership mark and were left as they are.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils import workflow_namespace as wn


def argument_spec():
    return k8s.auth_argument_spec(**wn.options())


def main():
    wn.run_module(k8s.new_module(argument_spec()))


if __name__ == "__main__":
    main()
