# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Documentation shared by the modules that talk to the cluster."""

    # For the modules that take the kubernetes.core auth options. List it
    # before ansible.builtin.action_common_attributes: when fragments are
    # merged, values already in the documentation win, so listed after it the
    # generic attribute values (support: N/A) would win over these.
    DOCUMENTATION = r"""
options: {}
attributes:
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - parodos.orchestrator.k8s
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
notes:
  - Authentication options default to the C(K8S_AUTH_*) environment variables
    and the kubeconfig, as in the kubernetes.core modules; set them once for the
    whole play with C(module_defaults) and the C(group/parodos.orchestrator.k8s)
    action group.
"""

    # Modules that write to the cluster.
    WRITES = r"""
options: {}
notes:
  - Writes use the field manager C(parodos.orchestrator).
"""

    # Modules that wait: the option names of kubernetes.core's k8s module.
    WAIT = r"""
options:
  wait:
    description:
      - Wait until what the task is about is ready before returning.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait, when O(wait) is true.
      - Also how long a request is retried while the API server answers with
        a transient failure (no answer, 408, 429 with its C(Retry-After), 500,
        502, 503, 504); any other failure fails the task at once.
    type: int
    default: 600
  wait_sleep:
    description: Seconds between two looks at what is waited for.
    type: float
    default: 2
"""
