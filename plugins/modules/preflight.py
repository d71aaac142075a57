#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: preflight
short_description: Check that a cluster can take an Orchestrator install
version_added: "0.1.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Reads the cluster once and reports whether it meets the Orchestrator
    prerequisites - OpenShift in an accepted version range, OLM (its APIs
    served, read from the API discovery documents), a default
    StorageClass, the cluster domain, a node architecture the operator images
    are built for, a ready CatalogSource offering the operator packages and
    channels, write access for the caller and, when GitOps is enabled, the
    ArgoCD and Tekton CRDs and an ArgoCD instance.
  - The module never writes to the cluster. The write-access check creates
    C(SelfSubjectAccessReview) objects, which the API server answers without
    storing anything.
  - It does not fail when checks fail; it returns every check in RV(checks)
    and the failed ones in RV(problems), so that the caller can report them
    together. It fails only on invalid options.
  - Requests are retried for 15 seconds while the server does not answer or answers with a transient
    failure (429, 5xx).
  - An unreachable cluster or rejected credentials give a single problem named
    C(api).
extends_documentation_fragment:
  - parodos.orchestrator.cluster
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: The module is read-only and runs the same checks in check mode.
  diff_mode:
    support: none
options:
  write_access:
    description:
      - Cluster-wide permissions the caller must have, each checked with a
        C(SelfSubjectAccessReview).
      - An empty list skips the check.
    type: list
    elements: dict
    default:
      - verb: create
        resource: namespaces
        group: ""
      - verb: create
        resource: customresourcedefinitions
        group: apiextensions.k8s.io
    suboptions:
      verb:
        description: API verb.
        type: str
        default: create
      resource:
        description: Resource plural, for example C(namespaces).
        type: str
        required: true
      group:
        description: API group; empty for the core group.
        type: str
        default: ""
  openshift_min_version:
    description:
      - Oldest accepted OpenShift version (C(major.minor) or C(major.minor.patch)),
        compared with the newest C(Completed) entry of C(ClusterVersion/version)
        C(status.history).
    type: str
    default: "4.13"
  openshift_max_version:
    description:
      - Newest accepted OpenShift version; compared at its own precision, so
        C(4.16) accepts every C(4.16.z). Empty means no upper bound.
    type: str
    default: ""
  require_default_storage_class:
    description:
      - Whether a StorageClass annotated
        C(storageclass.kubernetes.io/is-default-class=true) must exist.
    type: bool
    default: true
  supported_architectures:
    description:
      - Node architectures (label C(kubernetes.io/arch)) the operator images run
        on; at least one node must have one of them. An empty list skips the
        check.
    type: list
    elements: str
    default: [amd64]
  catalog_source:
    description: Name of the CatalogSource the operators are installed from.
    type: str
    default: redhat-operators
  catalog_source_namespace:
    description: Namespace of the CatalogSource.
    type: str
    default: openshift-marketplace
  packages:
    description:
      - Operator packages that the catalog must offer, each with the channel
        that will be subscribed to. Checked only when OLM is installed and the
        catalog is C(READY). An empty list skips the catalog checks.
      - A package is looked up as M(parodos.orchestrator.olm_operator) looks it
        up - by name, and by the label C(catalog) when another catalog offers a
        package of the same name.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Package name, for example C(serverless-operator).
        type: str
        required: true
      channel:
        description: Channel that must exist; empty accepts any.
        type: str
        default: ""
  gitops:
    description:
      - Whether GitOps is enabled; then the CRD C(appprojects.argoproj.io)
        (serving C(v1alpha1)) and an C(ArgoCD) instance in O(argocd_namespace)
        are required.
    type: bool
    default: false
  tekton:
    description:
      - Whether the Tekton pipeline is enabled; then the CRDs
        C(tasks.tekton.dev) and C(pipelines.tekton.dev) (serving C(v1)) are
        required. Needs O(gitops).
    type: bool
    default: false
  argocd_namespace:
    description: Namespace of the ArgoCD instance.
    type: str
    default: orchestrator-gitops
  argocd_instance:
    description: Name of the ArgoCD instance; empty accepts any instance in the namespace.
    type: str
    default: ""
  fail_on_problems:
    description:
      - Fail the task when a check fails, with the report (RV(report)) as its message; the result is the same.
      - Without it the task succeeds and RV(problems) tells what failed.
    type: bool
    default: false
seealso:
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Check the cluster before installing
  parodos.orchestrator.preflight:
    openshift_min_version: "4.13"
    packages:
      - name: serverless-operator
        channel: stable
      - name: logic-operator-rhel8
        channel: alpha
      - name: rhdh
        channel: fast-1.3
  register: preflight

- name: Stop with every problem and its fix
  ansible.builtin.fail:
    msg: "{{ preflight.report }}"
  when: preflight.problems | length > 0

- name: Also require the GitOps pieces, against a given kubeconfig
  parodos.orchestrator.preflight:
    kubeconfig: ~/.kube/config
    gitops: true
    tekton: true
    argocd_namespace: orchestrator-gitops
  register: preflight
"""

RETURN = r"""
cluster:
  description: Facts read from the cluster.
  returned: always
  type: dict
  contains:
    api_url:
      description: URL of the API server the module talked to.
      type: str
      sample: https://api.example.com:6443
    kubernetes_version:
      description: Kubernetes version from C(/version), without the leading C(v); null when unreachable.
      type: str
      sample: 1.29.7
    openshift_version:
      description: Newest completed OpenShift version; null when not OpenShift.
      type: str
      sample: 4.16.8
    domain:
      description: C(spec.domain) of C(Ingress/cluster) (config.openshift.io); null when unknown.
      type: str
      sample: apps.example.com
    architectures:
      description: Distinct node architectures, sorted.
      type: list
      elements: str
      sample: [amd64]
    default_storage_class:
      description: Name of the default StorageClass; null when there is none.
      type: str
      sample: gp3-csi
    olm:
      description: >-
        Whether OLM's APIs are served - the discovery documents of
        C(operators.coreos.com/v1alpha1) and C(operators.coreos.com/v1) list
        subscriptions, clusterserviceversions and operatorgroups.
      type: bool
      sample: true
checks:
  description: Every check that applied, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: >-
        Check name - C(api), C(write_access), C(openshift), C(openshift_version),
        C(cluster_domain), C(olm), C(default_storage_class), C(architecture),
        C(catalog_source), C(package/<name>), C(tekton_needs_gitops),
        C(gitops_crds) or C(argocd_instance).
      type: str
      sample: olm
    passed:
      description: Whether the check passed.
      type: bool
    message:
      description: What was found.
      type: str
    hint:
      description: How to fix a failed check; empty when it passed.
      type: str
problems:
  description: The failed checks (same shape as RV(checks)); empty when the cluster is ready.
  returned: always
  type: list
  elements: dict
report:
  description: One text listing every problem with its fix; empty when there is none.
  returned: always
  type: str
read_errors:
  description: Reads that failed for another reason than "not found" (for example 403); the checks treat them as missing.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils import preflight as pf


def argument_spec():
    return k8s.auth_argument_spec(**pf.options())


def main():
    pf.run_module(k8s.new_module(argument_spec()))


if __name__ == "__main__":
    main()
