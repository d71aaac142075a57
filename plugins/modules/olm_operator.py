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
  - With O(wait), polls until the ClusterServiceVersion has phase C(Succeeded)
    and each of its Deployments is Available. With C(Manual) approval it
    approves only the InstallPlan that installs O(starting_csv) or, without
    one, only the first InstallPlan of the initial install; upgrade plans stay
    unapproved. Plans of a reused Subscription are never approved.
  - Without O(wait), when nothing had to be written and the Subscription
    already names a ClusterServiceVersion, looks once at that CSV and its
    Deployments and returns RV(ready), so that a later call with O(wait) can be
    skipped. Nothing is approved then.
  - A ClusterServiceVersion in phase C(Failed) fails at once. Transient API
    errors (no answer, 429, 5xx) while reading are retried.
extends_documentation_fragment:
  - parodos.orchestrator.cluster
  - parodos.orchestrator.cluster.WRITES
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
  component:
    description: Human name of the operator, used in messages.
    type: str
    required: true
  package:
    description: Operator package name in the catalog, for example C(serverless-operator).
    type: str
    required: true
  channel:
    description: Channel to subscribe to.
    type: str
    required: true
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
    description: Namespace the operator is installed in.
    type: str
    required: true
  subscription_name:
    description: Name of the Subscription to create.
    type: str
    required: true
  operator_group_name:
    description: Name of the OperatorGroup created when the namespace has none.
    type: str
    required: true
  operator_group_target_namespaces:
    description: Target namespaces of a created OperatorGroup; empty means all namespaces.
    type: list
    elements: str
    default: []
  labels:
    description: Labels added to the ownership labels on the objects created.
    type: dict
    default: {}
  wait:
    description: Whether to wait until the operator is ready. Ignored in check mode.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the operator.
    type: int
    default: 600
  wait_sleep:
    description: Seconds between two looks at the cluster while waiting.
    type: float
    default: 2
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
"""

RETURN = r"""
changed:
  description: Whether something was created, patched or approved.
  returned: always
  type: bool
subscription:
  description: The Subscription used, ours or a reused one.
  returned: always
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
  returned: always
  type: bool
created:
  description: Objects created, as C(Kind/namespace/name) (C(Kind/name) for a Namespace).
  returned: always
  type: list
  elements: str
  sample: [Namespace/openshift-serverless, OperatorGroup/openshift-serverless/serverless-operator-group]
operator_group:
  description:
    - Name of the OperatorGroup of the namespace, created or reused; empty when the namespace is not ours to fill.
    - When our Subscription already was as wanted, the OperatorGroup recorded on the ClusterServiceVersion
      (only with O(wait)).
  returned: always
  type: str
  sample: serverless-operator-group
csv:
  description: The ClusterServiceVersion waited for or looked at, as last seen; otherwise empty values.
  returned: always
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
  returned: always
  type: list
  elements: str
ready:
  description:
    - Whether the operator was seen ready. Without O(wait), only when nothing was written and OLM had
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

import time

from ansible_collections.parodos.orchestrator.plugins.module_utils import (
    k8s,
    olm,
)

READ_ATTEMPTS = 5


class Failure(Exception):
    """The operator cannot be installed; ``debug`` holds the related objects."""

    def __init__(self, message, debug=None):
        super().__init__(message)
        self.debug = debug


def argument_spec():
    """Auth options of kubernetes.core plus the operator settings."""
    return k8s.auth_argument_spec(
        component=dict(type="str", required=True),
        package=dict(type="str", required=True),
        channel=dict(type="str", required=True),
        source=dict(type="str", default="redhat-operators"),
        source_namespace=dict(type="str", default="openshift-marketplace"),
        approval=dict(type="str", default="Automatic", choices=["Automatic", "Manual"]),
        starting_csv=dict(type="str", default=""),
        namespace=dict(type="str", required=True),
        subscription_name=dict(type="str", required=True),
        operator_group_name=dict(type="str", required=True),
        operator_group_target_namespaces=dict(type="list", elements="str", default=[]),
        labels=dict(type="dict", default={}),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=600),
        wait_sleep=dict(type="float", default=2),
    )


class Installer:
    """Talks to the cluster; the decisions come from module_utils.olm."""

    def __init__(self, api, params, check_mode, sleep=time.sleep, clock=time.monotonic):
        self.api = api
        self.params = params
        self.check_mode = check_mode
        self.sleep = sleep
        self.clock = clock
        self.labels = olm.ownership_labels(params["labels"])
        self.result = dict(changed=False, subscription=dict(name=params["subscription_name"],
                                                            namespace=params["namespace"]),
                           reused=False, created=[], operator_group="", csv=dict(name="", phase=""),
                           approved_install_plans=[], ready=False)
        self.last_csv = None

    # -- reads ---------------------------------------------------------------
    def read(self, path, missing_ok=True):
        """GET with retries of transient failures; None for 404 when ``missing_ok``."""
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                return k8s.read(self.api, path) if missing_ok else self.api.get(path)
            except k8s.ApiError as exc:
                if not k8s.is_transient(exc.status) or attempt == READ_ATTEMPTS:
                    raise
            self.sleep(min(1.0, attempt * 0.2))
        return None  # pragma: no cover

    # -- writes --------------------------------------------------------------
    def create(self, collection, body, kind, name, namespace=None):
        try:
            self.api.create(collection, body, dry_run=self.check_mode)
        except k8s.ApiError as exc:
            if exc.status == 404 and self.check_mode:
                pass  # its namespace is only created in check mode's imagination
            elif exc.status == 409:
                return  # created meanwhile by someone else
            else:
                raise
        self.result["changed"] = True
        self.result["created"].append("/".join(p for p in (kind, namespace, name) if p))

    # -- steps ---------------------------------------------------------------
    def run(self):
        params = self.params
        subs = (self.read(olm.olm_path("subscriptions"), missing_ok=False) or {}).get("items") or []
        try:
            action, sub = olm.choose_subscription(subs, params)
            conflict = None
        except ValueError as exc:
            action, sub, conflict = "create", None, exc
        if conflict is not None or olm.needs_write(action, sub, params):
            # the catalog is checked before any write, and before a name conflict is reported
            self.check_package()
            if conflict is not None:
                raise Failure("%s: %s" % (params["component"], conflict))
        if action == "reuse":
            meta = sub["metadata"]
            self.result.update(reused=True, subscription=dict(name=meta["name"], namespace=meta["namespace"]))
        elif olm.needs_write(action, sub, params):
            self.ensure_namespace()
            self.ensure_operator_group()
            self.ensure_subscription(sub)
            sub = None  # written: read it afresh while waiting
        if self.check_mode:
            return self.result
        if params["wait"]:
            self.wait(action != "reuse", sub)
        elif sub is not None and olm.target_csv(sub):
            # nothing written and OLM has picked a CSV: one look tells whether a later wait is needed
            self.look(sub)
        if self.result["ready"]:
            if not self.result["operator_group"] and action == "manage":
                self.result["operator_group"] = olm.csv_operator_group(self.last_csv)
        return self.result

    def check_package(self):
        params = self.params
        manifest = self.read(olm.package_manifest_path(params["source_namespace"], params["package"]))
        problem = olm.package_problem(manifest, params)
        if problem:
            raise Failure("%s: %s" % (params["component"], problem))

    def ensure_namespace(self):
        name = self.params["namespace"]
        if self.read(olm.namespace_path(name)) is None:
            self.create(olm.namespace_path(), olm.build_namespace(name, self.labels), "Namespace", name)

    def ensure_operator_group(self):
        ns = self.params["namespace"]
        groups = (self.read(olm.olm_path("operatorgroups", ns), missing_ok=False) or {}).get("items") or []
        if groups:
            self.result["operator_group"] = sorted(g["metadata"]["name"] for g in groups)[0]
            return
        name = self.params["operator_group_name"]
        self.create(olm.olm_path("operatorgroups", ns), olm.build_operator_group(self.params, self.labels),
                    "OperatorGroup", name, ns)
        self.result["operator_group"] = name

    def ensure_subscription(self, existing):
        params = self.params
        ns, name = params["namespace"], params["subscription_name"]
        if existing is None:
            self.create(olm.olm_path("subscriptions", ns), olm.build_subscription(params, self.labels),
                        "Subscription", name, ns)
            return
        patch = olm.subscription_patch(existing, params)
        if patch:
            self.api.merge_patch(olm.olm_path("subscriptions", ns, name), patch, dry_run=self.check_mode)
            self.result["changed"] = True

    # -- waiting -------------------------------------------------------------
    def observe(self, obs, approve, sub=None):
        """Refresh ``obs`` (in place) from the cluster; approve plans when ``approve``.

        ``sub``: the Subscription as just read, used instead of reading it again.
        """
        ns = self.result["subscription"]["namespace"]
        name = self.result["subscription"]["name"]
        if sub is None:
            sub = k8s.read(self.api, olm.olm_path("subscriptions", ns, name))
        if sub is None:
            raise Failure("%s: Subscription %s/%s disappeared while waiting" % (self.params["component"], ns, name),
                          olm.debug(obs))
        obs["subscription"] = sub
        obs["plans"] = []
        if olm.needs_install_plans(sub):
            self.read_plans(obs)
        if approve:
            for plan_name in olm.plans_to_approve(sub, obs["plans"]):
                self.api.merge_patch(olm.olm_path("installplans", ns, plan_name), {"spec": {"approved": True}})
                self.result["changed"] = True
                self.result["approved_install_plans"].append(plan_name)
                for plan in obs["plans"]:
                    if plan["metadata"]["name"] == plan_name:
                        plan.setdefault("spec", {})["approved"] = True
        obs["csv_name"] = olm.target_csv(sub)
        obs["csv"] = None
        obs["deployments"] = {}
        if obs["csv_name"]:
            obs["csv"] = k8s.read(self.api, olm.olm_path("clusterserviceversions", ns, obs["csv_name"]))
            self.last_csv = obs["csv"]
        names = olm.csv_deployments(obs["csv"])
        if names:
            items = (k8s.read(self.api, olm.deployment_path(ns)) or {}).get("items") or []
            obs["deployments"] = olm.pick_deployments(items, names)
        obs["error"] = ""

    def read_plans(self, obs):
        """The Subscription's InstallPlans into ``obs["plans"]``."""
        ns = self.result["subscription"]["namespace"]
        items = (k8s.read(self.api, olm.olm_path("installplans", ns)) or {}).get("items") or []
        obs["plans"] = olm.related_install_plans(items, obs["subscription"])

    def fail(self, message_args, obs):
        """Failure of the wait; InstallPlans not read while polling are read once for the report."""
        if not olm.needs_install_plans(obs["subscription"]):
            try:
                self.read_plans(obs)
            except k8s.ApiError:
                pass  # the report goes without them
        return Failure(olm.failure_message(*message_args), olm.debug(obs))

    def new_observation(self):
        return dict(subscription={"metadata": dict(self.result["subscription"])}, plans=[], csv_name="",
                    csv=None, deployments={}, error="")

    def evaluate(self, obs):
        """The state of ``obs`` (ready, failed or waiting); records the CSV and readiness in the result."""
        self.result["csv"] = dict(name=obs["csv_name"],
                                  phase=((obs["csv"] or {}).get("status") or {}).get("phase", ""))
        state = olm.evaluate(obs)[0]
        self.result["ready"] = state == "ready"
        return state

    def look(self, sub):
        """One look without waiting or approving; a failure to read leaves ``ready`` false."""
        obs = self.new_observation()
        try:
            self.observe(obs, False, sub)
        except k8s.ApiError:
            return
        self.evaluate(obs)

    def wait(self, approve, sub=None):
        component = self.params["component"]
        timeout = self.params["wait_timeout"]
        deadline = self.clock() + timeout
        obs = self.new_observation()
        while True:
            try:
                self.observe(obs, approve, sub)
            except k8s.ApiError as exc:
                if not k8s.is_transient(exc.status):
                    raise Failure("%s: reading the cluster failed: %s" % (component, exc), olm.debug(obs)) from None
                obs["error"] = "%s (HTTP %s)" % (exc, exc.status)
            else:
                state = self.evaluate(obs)
                if state == "ready":
                    return
                if state == "failed":
                    raise self.fail((component, obs), obs)
            sub = None  # only the first look uses the Subscription read before
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise self.fail((component, obs, timeout), obs)
            self.sleep(min(self.params["wait_sleep"], remaining))


def connect_with_retries(module, sleep=time.sleep):
    """connect(), asked again a few times when the failure may be transient."""
    for attempt in range(1, READ_ATTEMPTS + 1):
        api, failure = k8s.connect(module)
        if api is not None or not k8s.is_transient(failure[1]) or attempt == READ_ATTEMPTS:
            return api, failure
        sleep(min(1.0, attempt * 0.2))
    return None, None  # pragma: no cover


def main():
    module = k8s.new_module(argument_spec())
    params = module.params
    required = ("component", "package", "channel", "source", "source_namespace", "namespace",
                "subscription_name", "operator_group_name")
    errors = ["%s must not be empty" % key for key in required if not params[key]]
    if params["wait_timeout"] < 0 or params["wait_sleep"] <= 0:
        errors.append("wait_timeout must be >= 0 and wait_sleep > 0")
    if errors:
        module.fail_json(msg="Invalid options: " + "; ".join(errors))

    api, failure = connect_with_retries(module)
    if api is None:
        module.fail_json(msg="%s: cannot reach the Kubernetes API at %s: %s"
                         % (params["component"], failure[2], failure[0]))
    installer = Installer(api, params, module.check_mode)
    try:
        result = installer.run()
    except Failure as exc:
        extra = dict(installer.result)
        if exc.debug is not None:
            extra["debug"] = exc.debug
        module.fail_json(msg=str(exc), **extra)
    except k8s.ApiError as exc:
        module.fail_json(msg="%s: %s (HTTP %s)" % (params["component"], exc, exc.status), **installer.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
