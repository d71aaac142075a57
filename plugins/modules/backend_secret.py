#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backend_secret
short_description: Ensure the backend Secret of Red Hat Developer Hub
version_added: "0.1.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Ensures the Secret whose keys Red Hat Developer Hub reads as environment
    variables. It holds the backend secret, the cluster URL and service
    account token of the Kubernetes plugins, and GitHub, ArgoCD and email
    notification credentials.
  - A key whose input has a value gets that value. A key without one (an
    input left empty, for example a later run without the vault that holds
    the GitHub values; ArgoCD not found; email disabled; no token Secret)
    keeps the value the Secret already holds. Keys are removed only when
    named in O(remove_keys).
  - A key renamed in O(keys) moves to its new name, with its value. Keys of
    the Secret that the module does not manage are kept. The module records
    the key names it manages in the annotation
    C(parodos.orchestrator/backend-secret-keys) (key names only).
  - The backend secret is the value of O(backend_secret) when given, else the
    value already stored, else a random value made once with the Python
    C(secrets) module; it is not rotated by later runs.
  - The service account token is read from the C(data.token) of the Secret
    in O(cluster_token_secret); the module waits up to O(wait_timeout)
    seconds for the token controller to fill it, looking every O(wait_sleep)
    seconds. The cluster URL is written only together with a token.
  - With O(argocd.enabled), the ArgoCD URL is C(https://) and the host of the
    Route labelled C(app.kubernetes.io/managed-by=<instance>) in
    O(argocd.namespace), and the password is key C(admin.password) of Secret
    C(<instance>-cluster). When the instance is not found no ArgoCD key is
    written and the task warns.
  - A Secret created or updated by this module carries the labels
    C(app.kubernetes.io/managed-by=parodos.orchestrator) and
    C(app.kubernetes.io/part-of=orchestrator). The first one is the
    collection's mark. An existing Secret without it is not changed (the task
    warns, naming the keys that differ) unless O(adopt) is set.
  - An absent Secret is created with one C(POST); an existing one gets one
    JSON merge patch carrying only what changes; nothing is sent when nothing
    changes.
  - The result and the diff carry key names only, never a value.
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
      - Writes are sent with C(dryRun=All). A Secret whose namespace does not exist yet is reported as created.
      - A service account token that is not there yet is not waited for; its key is reported as it would be.
  diff_mode:
    support: full
    details: Every value is replaced by a placeholder; changed values get a different placeholder.
options:
  name:
    description: Name of the Secret.
    type: str
    default: backstage-backend-auth-secret
  namespace:
    description: Namespace of the Secret, the namespace of the Backstage.
    type: str
    required: true
  labels:
    description: Extra labels of the Secret. Other labels of an existing Secret are kept.
    type: dict
    default: {}
  adopt:
    description:
      - Manage an existing Secret that lacks the collection's mark (the label
        C(app.kubernetes.io/managed-by=parodos.orchestrator)), giving it the
        labels of this collection and making its keys what this module wants.
      - When false, such a Secret is left as it is.
    type: bool
    default: false
  keys:
    description:
      - Key name in the Secret of each value. Keys left out keep their
        default name.
    type: dict
    default: {}
    suboptions:
      backend_secret:
        description: Key of the backend secret.
        type: str
        default: BACKEND_SECRET
      cluster_url:
        description: Key of the API server URL.
        type: str
        default: K8S_CLUSTER_URL
      cluster_token:
        description: Key of the service account token.
        type: str
        default: K8S_CLUSTER_TOKEN
      github_token:
        description: Key of the GitHub token.
        type: str
        default: GITHUB_TOKEN
      github_client_id:
        description: Key of the GitHub OAuth client id.
        type: str
        default: GITHUB_CLIENT_ID
      github_client_secret:
        description: Key of the GitHub OAuth client secret.
        type: str
        default: GITHUB_CLIENT_SECRET
      argocd_url:
        description: Key of the ArgoCD URL.
        type: str
        default: ARGOCD_URL
      argocd_username:
        description: Key of the ArgoCD user name.
        type: str
        default: ARGOCD_USERNAME
      argocd_password:
        description: Key of the ArgoCD password.
        type: str
        default: ARGOCD_PASSWORD
      email_hostname:
        description: Key of the SMTP host name.
        type: str
        default: NOTIFICATIONS_EMAIL_HOSTNAME
      email_username:
        description: Key of the SMTP user name.
        type: str
        default: NOTIFICATIONS_EMAIL_USERNAME
      email_password:
        description: Key of the SMTP password.
        type: str
        default: NOTIFICATIONS_EMAIL_PASSWORD
  remove_keys:
    description:
      - Logical keys (the names of the suboptions of O(keys)) to remove from
        the Secret, for example the GitHub keys when the integration is no
        longer used.
      - A key listed here must get no value in the same run. The backend
        secret cannot be removed.
    type: list
    elements: str
    default: []
    choices: [cluster_url, cluster_token, github_token, github_client_id, github_client_secret, argocd_url,
              argocd_username, argocd_password, email_hostname, email_username, email_password]
  backend_secret:
    description:
      - The backend secret. Empty keeps the stored value, or generates one
        when there is none.
    type: str
    default: ""
  backend_secret_bytes:
    description: Random bytes of a generated backend secret (written as URL-safe text), at least 32.
    type: int
    default: 48
  cluster_url:
    description:
      - URL of the API server for the Kubernetes plugins. Empty means the
        URL of the connection this module uses.
    type: str
    default: ""
  cluster_token_secret:
    description:
      - The C(kubernetes.io/service-account-token) Secret whose token is
        written. An empty name writes no token and no cluster URL.
    type: dict
    default: {}
    suboptions:
      namespace:
        description: Namespace of the token Secret.
        type: str
        default: ""
      name:
        description: Name of the token Secret.
        type: str
        default: ""
  wait_timeout:
    description:
      - Seconds to wait for the token Secret to hold a token.
      - Also how long a request is retried while the API server answers with a
        transient failure.
    type: int
    default: 60
    aliases: [token_timeout]
  wait_sleep:
    description: Seconds between two looks at the token Secret while waiting.
    type: float
    default: 1
  github_token:
    description: GitHub token of the integration and the scaffolder.
    type: str
    default: ""
  github_client_id:
    description: Client id of the GitHub OAuth application.
    type: str
    default: ""
  github_client_secret:
    description: Client secret of the GitHub OAuth application.
    type: str
    default: ""
  argocd:
    description: ArgoCD instance whose URL and credentials are written.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Look for the instance and write its keys.
        type: bool
        default: false
      namespace:
        description: Namespace of the ArgoCD instance; required when enabled.
        type: str
        default: ""
      instance:
        description: Name of the ArgoCD instance.
        type: str
        default: argocd
      username:
        description: ArgoCD user name written with the password.
        type: str
        default: admin
  email:
    description: SMTP settings of the email notifications.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Write the email keys that have a value.
        type: bool
        default: false
      hostname:
        description: SMTP host name.
        type: str
        default: ""
      username:
        description: SMTP user name.
        type: str
        default: ""
      password:
        description: SMTP password.
        type: str
        default: ""
notes:
  - Red Hat Developer Hub reads the Secret when its pods start; the operator
    restarts them when a referenced Secret changes.
seealso:
  - module: parodos.orchestrator.generated_secret
"""

EXAMPLES = r"""
- name: Backend secret with the Kubernetes plugin token and ArgoCD
  parodos.orchestrator.backend_secret:
    namespace: rhdh
    cluster_token_secret:
      namespace: orchestrator
      name: orchestrator-token
    github_token: "{{ github_token }}"
    argocd:
      enabled: true
      namespace: orchestrator-gitops
  no_log: true
  register: backend

- name: Show which keys the Secret holds
  ansible.builtin.debug:
    var: backend.keys

- name: A later run without the GitHub values keeps the GitHub keys; this one removes them
  parodos.orchestrator.backend_secret:
    namespace: rhdh
    remove_keys: [github_token, github_client_id, github_client_secret]
  no_log: true

- name: Other key names, and a Secret made by someone else taken over
  parodos.orchestrator.backend_secret:
    namespace: rhdh
    adopt: true
    keys:
      github_token: GH_TOKEN
  no_log: true
"""

RETURN = r"""
secret:
  description: Name and namespace of the Secret.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the Secret.
      type: str
      sample: backstage-backend-auth-secret
    namespace:
      description: Namespace of the Secret.
      type: str
      sample: rhdh
keys:
  description: Every key of the Secret after the run, sorted.
  returned: always
  type: list
  elements: str
  sample: [BACKEND_SECRET, K8S_CLUSTER_TOKEN, K8S_CLUSTER_URL]
added:
  description: Keys added by this run.
  returned: always
  type: list
  elements: str
  sample: [K8S_CLUSTER_TOKEN, K8S_CLUSTER_URL]
updated:
  description: Keys whose value this run changed.
  returned: always
  type: list
  elements: str
  sample: [GITHUB_TOKEN]
removed:
  description: Keys this run removed (named in O(remove_keys), or the old name of a renamed key).
  returned: always
  type: list
  elements: str
  sample: [ARGOCD_PASSWORD, ARGOCD_URL, ARGOCD_USERNAME]
generated:
  description: Keys whose value this run generated.
  returned: always
  type: list
  elements: str
  sample: [BACKEND_SECRET]
adopted:
  description: Whether this run took over an existing Secret that lacked the collection's mark.
  returned: always
  type: bool
  sample: false
reused:
  description: Whether an existing Secret without the collection's mark was left as it is.
  returned: always
  type: bool
  sample: false
"""

from ansible_collections.parodos.orchestrator.plugins.module_utils import backend_secret as bs
from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s


def argument_spec():
    """Auth options of kubernetes.core plus the Secret settings."""
    return k8s.auth_argument_spec(**bs.options())


def main():
    bs.run_module(k8s.new_module(argument_spec()))


if __name__ == "__main__":
    main()
