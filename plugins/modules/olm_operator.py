#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: olm_operator
short_description: Install an operator through the Operator Lifecycle Manager
version_added: "0.1.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Subscribes to an operator package from a catalog and, when asked, waits
    until the operator runs.
  - Reads the Subscriptions of the cluster first; when the Subscription to
    use already exists as wanted, nothing else is read before waiting.
  - Before writing anything, reads the package's C(PackageManifest) and fails
    when the package is unknown, comes from another catalog, has no such
    channel (the message lists the channels) or the channel has no
    O(starting_csv) (the message lists its ClusterServiceVersions).
  - The package is looked up as M(parodos.orchestrator.preflight) looks it up.
    The package server names a C(PackageManifest) after its package alone; when
    several catalogs offer the package, the one of O(source) is found by its
    label C(catalog).
  - A Subscription for the same package that already exists anywhere in the
    cluster and was not created by this collection (or was, under another name
    or namespace) is reused as it is; nothing is written then.
  - Otherwise creates the namespace when it is absent, an OperatorGroup when the
    namespace has none (an existing one is reused) and the Subscription; a
    Subscription created earlier by this collection gets its channel, approval,
    starting CSV and source patched when they differ.
  - Objects created carry the ownership labels
    C(app.kubernetes.io/managed-by=parodos.orchestrator) and
    C(app.kubernetes.io/part-of=orchestrator), plus O(labels). Existing objects
    without them are never changed.
  - With O(wait), polls until the ClusterServiceVersion has phase C(Succeeded),
    which OLM sets once its Deployments are available and takes back when one
    stops being available; the Deployments are read only to explain a CSV that
    is not ready. With C(Manual) approval it
    approves only the InstallPlan that installs O(starting_csv) or, without
    one, only the first InstallPlan of the initial install; upgrade plans stay
    unapproved. Plans of a reused Subscription are never approved.
  - Without O(wait), when nothing had to be written and the Subscription
    already names a ClusterServiceVersion, looks once at that CSV and returns RV(ready), so that a later call with O(wait) can be
    skipped. Nothing is approved then.
  - A ClusterServiceVersion in phase C(Failed) fails at once. Each request
    is retried while the API server answers with a transient failure, up to
    O(wait_timeout) seconds.
  - With O(operators), installs several operators in one call. The
    Subscriptions are read once, every catalog is checked before the first
    write, every Subscription is written before waiting on any, and O(wait)
    waits for all of them together.
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
    details: Writes are sent with C(dryRun=All); nothing is waited for.
  diff_mode:
    support: none
options:
  operators:
    description:
      - The operators to install, each with the options O(component) to O(labels) of this module; an
        option an entry leaves out is taken from the module's option of the same name.
      - Without it, the module's options describe the one operator to install.
      - Two entries must not name the same Subscription.
    type: list
    elements: dict
    suboptions:
      component:
        description: See O(component).
        type: str
      package:
        description: See O(package).
        type: str
      channel:
        description: See O(channel).
        type: str
      source:
        description: See O(source).
        type: str
      source_namespace:
        description: See O(source_namespace).
        type: str
      approval:
        description: See O(approval).
        type: str
        choices: [Automatic, Manual]
      starting_csv:
        description: See O(starting_csv).
        type: str
      namespace:
        description: See O(namespace).
        type: str
      subscription_name:
        description: See O(subscription_name).
        type: str
      operator_group_name:
        description: See O(operator_group_name).
        type: str
      operator_group_target_namespaces:
        description: See O(operator_group_target_namespaces).
        type: list
        elements: str
      labels:
        description: See O(labels).
        type: dict
  component:
    description: Human name of the operator, used in messages; required (here or in each entry of O(operators)).
    type: str
    default: ""
  package:
    description:
      - Operator package name in the catalog, for example C(serverless-operator); required (here or in each
        entry of O(operators)).
    type: str
    default: ""
  channel:
    description: Channel to subscribe to; required (here or in each entry of O(operators)).
    type: str
    default: ""
  source:
    description: Name of the CatalogSource.
    type: str
    default: redhat-operators
  source_namespace:
    description: Namespace of the CatalogSource.
    type: str
    default: openshift-marketplace
  approval:
    description: InstallPlan approval of the Subscription.
    type: str
    choices: [Automatic, Manual]
    default: Automatic
  starting_csv:
    description:
      - ClusterServiceVersion to install first; empty for the channel head.
      - With C(Manual) approval the operator stays at this version.
    type: str
    default: ""
  namespace:
    description: Namespace the operator is installed in. Required (here or in each entry of O(operators)).
    type: str
    default: ""
  subscription_name:
    description: Name of the Subscription to create. Required (here or in each entry of O(operators)).
    type: str
    default: ""
  operator_group_name:
    description: Name of the OperatorGroup created when the namespace has none. Required (here or in each entry of O(operators)).
    type: str
    default: ""
  operator_group_target_namespaces:
    description: Target namespaces of a created OperatorGroup; empty means all namespaces.
    type: list
    elements: str
    default: []
  labels:
    description: Labels added to the ownership labels on the objects created.
    type: dict
    default: {}
seealso:
  - module: parodos.orchestrator.preflight
"""

EXAMPLES = r"""
- name: Subscribe to OpenShift Serverless, without waiting
  parodos.orchestrator.olm_operator:
    component: OpenShift Serverless operator
    package: serverless-operator
    channel: stable
    namespace: openshift-serverless
    subscription_name: serverless-operator
    operator_group_name: serverless-operator-group

- name: Install the Serverless Logic operator pinned to a version and wait for it
  parodos.orchestrator.olm_operator:
    component: OpenShift Serverless Logic operator
    package: logic-operator-rhel8
    channel: alpha
    approval: Manual
    starting_csv: logic-operator-rhel8.v1.34.0
    namespace: openshift-serverless-logic
    subscription_name: logic-operator-rhel8
    operator_group_name: openshift-serverless-logic
    wait: true
    wait_timeout: 600
  register: logic_operator

- name: Subscribe to two operators in one call, from the same catalog
  parodos.orchestrator.olm_operator:
    source: redhat-operators
    operators:
      - component: OpenShift Serverless operator
        package: serverless-operator
        channel: stable
        namespace: openshift-serverless
        subscription_name: serverless-operator
        operator_group_name: serverless-operator-group
      - component: Red Hat Developer Hub operator
        package: rhdh
        channel: fast-1.3
        namespace: rhdh-operator
        subscription_name: rhdh
        operator_group_name: rhdh-operator-group
  register: operators
"""

RETURN = r"""
changed:
  description: Whether something was created, patched or approved.
  returned: always
  type: bool
operators:
  description:
    - One result per operator, in the order given, each with the keys RV(subscription), RV(reused),
      RV(created), RV(operator_group), RV(csv), RV(approved_install_plans) and RV(ready) described here, and
      C(component).
  returned: always
  type: list
  elements: dict
subscription:
  description: The Subscription used, ours or a reused one (of the one operator, without O(operators)).
  returned: when one operator is installed
  type: dict
  contains:
    name:
      description: Name of the Subscription.
      type: str
      sample: serverless-operator
    namespace:
      description: Namespace of the Subscription.
      type: str
      sample: openshift-serverless
reused:
  description: Whether an existing Subscription that is not ours (or ours elsewhere) was reused as it is.
  returned: when one operator is installed
  type: bool
created:
  description: Objects created, as C(Kind/namespace/name) (C(Kind/name) for a Namespace), for all operators.
  returned: always
  type: list
  elements: str
  sample: [Namespace/openshift-serverless, OperatorGroup/openshift-serverless/serverless-operator-group]
operator_group:
  description:
    - Name of the OperatorGroup of the namespace, created or reused; empty when the namespace is not ours to fill.
    - When our Subscription already was as wanted, the OperatorGroup recorded on the ClusterServiceVersion
      (only with O(wait)).
  returned: when one operator is installed
  type: str
  sample: serverless-operator-group
csv:
  description: The ClusterServiceVersion waited for or looked at, as last seen; otherwise empty values.
  returned: when one operator is installed
  type: dict
  contains:
    name:
      description: Name of the ClusterServiceVersion.
      type: str
      sample: serverless-operator.v1.34.1
    phase:
      description: Its C(status.phase).
      type: str
      sample: Succeeded
approved_install_plans:
  description: Names of the InstallPlans approved by this run.
  returned: when one operator is installed
  type: list
  elements: str
ready:
  description:
    - Whether the operator (every operator) was seen ready. Without O(wait), only when nothing was written and OLM had
      already chosen a ClusterServiceVersion; otherwise false.
  returned: always
  type: bool
debug:
  description:
    - On failure while waiting, the related objects as last seen - the
      Subscription status, its InstallPlans, the ClusterServiceVersion and the
      operator Deployments.
  returned: failure
  type: dict
"""

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils import olm_install


def argument_spec():
    return k8s.auth_argument_spec(**olm_install.options())


def main():
    olm_install.run_module(k8s.new_module(argument_spec()))


if __name__ == "__main__":
    main()
