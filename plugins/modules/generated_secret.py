#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: generated_secret
short_description: Ensure a Secret holding given and generated values
version_added: "0.1.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Ensures that a Secret exists with the values in O(data) and, for every key
    in O(generate), a random value made with the Python C(secrets) module.
  - A generated value is made only when its key is absent or empty in the
    existing Secret; it is kept on every later run, so credentials are not
    rotated by re-running a play.
  - Values given in O(data) always win over stored and generated ones. An
    empty given value for a key listed in O(generate) counts as not given.
  - Keys already in the Secret that are not mentioned are kept.
  - An absent Secret is created with one C(POST); an existing one gets one
    JSON merge patch carrying only the changed keys, labels and annotations;
    nothing is sent when nothing changes. In check mode these requests are
    sent with C(dryRun=All), so the API server validates them without storing
    anything.
  - The result and the diff carry key names only, never a value.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: Writes are sent with C(dryRun=All). A Secret whose namespace does not exist yet is reported as created.
  diff_mode:
    support: full
    details: Every value is replaced by a placeholder; changed values get a different placeholder.
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - parodos.orchestrator.k8s
options:
  name:
    description: Name of the Secret.
    type: str
    required: true
  namespace:
    description: Namespace of the Secret.
    type: str
    required: true
  labels:
    description:
      - Labels the Secret must have. Other labels of an existing Secret are
        kept.
    type: dict
    default: {}
  annotations:
    description:
      - Annotations the Secret must have. Other annotations of an existing
        Secret are kept.
    type: dict
    default: {}
  type:
    description:
      - Type of the Secret. The type of an existing Secret cannot change; a
        different one fails the task.
    type: str
    default: Opaque
  data:
    description:
      - Key to plain-text value (the module encodes it). These values win over
        stored and generated ones.
    type: dict
    default: {}
  generate:
    description:
      - Keys whose value is generated when the key is absent or empty in the
        Secret, with letters and digits.
    type: list
    elements: dict
    default: []
    suboptions:
      key:
        description: Key in the Secret.
        type: str
        required: true
      length:
        description: Number of characters, at least 16.
        type: int
        default: 32
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
notes:
  - Authentication options default to the C(K8S_AUTH_*) environment variables
    and the kubeconfig, as in the kubernetes.core modules; set them once for the
    whole play with C(module_defaults) and the C(group/parodos.orchestrator.k8s)
    action group.
  - Writes use the field manager C(parodos.orchestrator).
  - Values of O(data) are hidden in the output like every C(no_log) option,
    except inside O(name) and O(namespace), which the result shows as they are.
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Database credentials, with a password made once and kept
  parodos.orchestrator.generated_secret:
    name: sonataflow-psql-postgresql
    namespace: sonataflow-infra
    labels:
      app.kubernetes.io/managed-by: parodos.orchestrator
    data:
      postgres-username: sonataflow
    generate:
      - key: postgres-password
        length: 32
  register: credentials

- name: Use a password the caller chose, or generate one when it is empty
  parodos.orchestrator.generated_secret:
    name: backend-secret
    namespace: rhdh
    data:
      BACKEND_SECRET: "{{ backend_secret | default('') }}"
    generate:
      - key: BACKEND_SECRET
"""

RETURN = r"""
secret:
  description: The Secret the module ensured; key names only.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the Secret.
      type: str
      sample: sonataflow-psql-postgresql
    namespace:
      description: Namespace of the Secret.
      type: str
      sample: sonataflow-infra
    keys:
      description: Every key of the Secret after the run, sorted.
      type: list
      elements: str
      sample: [postgres-password, postgres-username]
generated:
  description: Keys whose value was generated by this run, sorted.
  returned: always
  type: list
  elements: str
  sample: [postgres-password]
changed_keys:
  description: Keys whose value was added or changed by this run, sorted.
  returned: always
  type: list
  elements: str
  sample: [postgres-password, postgres-username]
"""

from ansible_collections.parodos.orchestrator.plugins.module_utils import (
    secrets as sec,
)
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import (
    auth_argument_spec,
    connect,
)
from ansible_collections.parodos.orchestrator.plugins.module_utils.preflight import (
    ApiError,
)


HIDDEN_ARG = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def argument_spec():
    """Auth options of kubernetes.core plus the Secret settings."""
    spec = auth_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        labels=dict(type="dict", default={}),
        annotations=dict(type="dict", default={}),
        type=dict(type="str", default="Opaque"),
        data=dict(type="dict", default={}, no_log=True),
        generate=dict(
            type="list", elements="dict", default=[], no_log=False,
            options=dict(key=dict(type="str", required=True, no_log=False),
                         length=dict(type="int", default=sec.DEFAULT_LENGTH)),
        ),
    )
    return spec


def collection_path(namespace):
    return "/api/v1/namespaces/%s/secrets" % namespace


def read(api, path):
    """The object at path, or None when it does not exist."""
    try:
        return api.get(path)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def ensure(api, params, check_mode, token_fn=sec.token):
    """Ensure the Secret; return (changed, before, after, report, new data)."""
    name, namespace = params["name"], params["namespace"]
    generate = sec.normalize_generate(params["generate"])[0]
    given = params["data"] or {}
    path = collection_path(namespace) + "/" + name
    for attempt in (1, 2):
        existing = read(api, path)
        decoded = sec.decode_data(existing.get("data")) if existing else None
        data, report = sec.plan(decoded, given, generate, token_fn)
        if existing is None:
            body = sec.build_secret(name, namespace, params["type"], params["labels"], params["annotations"], data)
            try:
                api.create(collection_path(namespace), body, dry_run=check_mode)
            except ApiError as exc:
                if exc.status == 409 and attempt == 1:
                    continue  # created meanwhile: plan again against it
                if exc.status == 404 and check_mode:
                    pass  # the namespace does not exist yet; it would be created before
                else:
                    raise ApiError(sec.scrub(str(exc), report["changes"].values()), exc.status) from None
            return True, {}, sec.redacted(body, report["changed_keys"]), report, data
        actual_type = existing.get("type") or "Opaque"
        if actual_type != params["type"]:
            raise ValueError("it has type %s, not %s; the type of a Secret cannot change"
                             % (actual_type, params["type"]))
        meta = sec.metadata_changes(existing.get("metadata"), params["labels"], params["annotations"])
        patch = sec.build_patch(report["changes"], meta)
        before = sec.redacted(existing)
        if patch is None:
            return False, before, before, report, data
        try:
            api.merge_patch(path, patch, dry_run=check_mode)
        except ApiError as exc:
            raise ApiError(sec.scrub(str(exc), report["changes"].values()), exc.status) from None
        after = sec.redacted(sec.merged(existing, patch), report["changed_keys"])
        return True, before, after, report, data
    raise AssertionError("unreachable")  # pragma: no cover


def unmask_identity(module, params):
    """Keep the Secret's name and namespace readable in the result.

    Ansible masks every ``data`` value wherever it appears in the output, so a
    user name such as ``sonataflow`` would also hide part of the namespace
    ``sonataflow-infra``. Values found inside the name or namespace are
    unmasked (the output shows them only as part of those), and the returned
    invocation shows ``data`` with its values replaced, so no value is shown
    there. Returns that invocation.
    """
    identity = (params["name"] or "", params["namespace"] or "")
    for value in list(module.no_log_values):
        if any(value in text for text in identity):
            module.no_log_values.discard(value)
    args = dict(params)
    args["data"] = {key: HIDDEN_ARG for key in params["data"] or {}}
    return {"module_args": args}


def main():
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import (
        AnsibleK8SModule,
    )

    module = AnsibleK8SModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    inner = getattr(module, "_module", module)
    invocation = unmask_identity(inner, params)

    def fail(msg):
        module.fail_json(msg=msg, invocation=invocation)

    errors = sec.normalize_generate(params["generate"])[1]
    for field in ("name", "namespace", "type"):
        if not params[field]:
            errors.append("%s must not be empty" % field)
    if errors:
        fail("Invalid options: " + "; ".join(errors))

    api, failure = connect(module)
    if api is None:
        fail("Cannot reach the Kubernetes API at %s: %s" % (failure[2], failure[0]))
    try:
        changed, before, after, report, data = ensure(api, params, module.check_mode)
    except (ApiError, ValueError) as exc:
        fail("Secret %s/%s: %s" % (params["namespace"], params["name"], exc))
    # Given values are masked by no_log; mask the generated ones too (long
    # and random, so they cannot mangle other output as short values would).
    inner.no_log_values.update(data[key] for key in report["generated"])
    result = dict(
        changed=changed,
        secret=dict(name=params["name"], namespace=params["namespace"], keys=sorted(after.get("data") or {})),
        generated=report["generated"],
        changed_keys=report["changed_keys"],
        invocation=invocation,
    )
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
