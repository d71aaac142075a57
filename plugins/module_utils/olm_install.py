# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Installing an operator through OLM, against the API.

``find_package`` is the one lookup of a package in a catalog (preflight uses
it too); ``Installer`` runs the steps of the olm_operator module. The
decisions come from module_utils.olm, the namespace from apply.Applier, the
polling from waiter; k8s.Api retries the requests that fail transiently.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.parodos.orchestrator.plugins.module_utils import (
    apply as ap,
    k8s,
    olm,
    waiter,
)

# Options of olm_operator that must not be empty.
REQUIRED = ("component", "package", "channel", "source", "source_namespace", "namespace",
            "subscription_name", "operator_group_name")


class Failure(Exception):
    """The operator cannot be installed; ``debug`` holds the related objects."""

    def __init__(self, message, debug=None):
        super().__init__(message)
        self.debug = debug


# The options of olm_operator that describe one operator (an entry of ``operators`` may set each).
OPERATOR_OPTIONS = REQUIRED + ("approval", "starting_csv", "operator_group_target_namespaces", "labels")


def operators_of(params):
    """The settings of each operator olm_operator installs, in order: every entry of ``operators``
    completed from the module's own options of the same names, or those options alone."""
    base = dict((key, params[key]) for key in OPERATOR_OPTIONS)
    base.update(wait=params["wait"], wait_timeout=params["wait_timeout"], wait_sleep=params["wait_sleep"])
    out = []
    for entry in params.get("operators") or [{}]:
        settings = dict(base)
        settings.update((key, value) for key, value in entry.items() if value is not None)
        out.append(settings)
    return out


def option_errors(params):
    """Mistakes in the options of olm_operator that the argument spec cannot catch."""
    errors = []
    operators = operators_of(params)
    for index, settings in enumerate(operators):
        where = "operators[%d]." % index if params.get("operators") else ""
        errors += ["%s%s must not be empty" % (where, key) for key in REQUIRED if not settings[key]]
    addresses = [(s["namespace"], s["subscription_name"]) for s in operators]
    if len(set(addresses)) != len(addresses):
        errors.append("operators: two entries name the same Subscription (namespace and subscription_name)")
    if params["wait_timeout"] < 0 or params["wait_sleep"] <= 0:
        errors.append("wait_timeout must be >= 0 and wait_sleep > 0")
    return errors


# ------------------------------------------------------------------ catalog


def find_package(api, namespace, package, source):
    """The PackageManifest of ``package`` as CatalogSource ``namespace/source`` offers it.

    The package server names a PackageManifest after its package alone: when
    several catalogs offer the package, a GET by name answers with any one of
    them. When that one is another catalog's, the manifests of the package
    are listed with the label ``catalog=<source>``.

    Returns the manifest of ``source``; when ``source`` does not offer the
    package, the manifest the GET answered with (another catalog's, see
    ``olm.offered_by``); None when no catalog offers it. A failed read raises
    k8s.ApiError.
    """
    manifest = k8s.read(api, olm.package_manifest_path(namespace, package))
    if manifest is None or olm.offered_by(manifest, source, namespace):
        return manifest
    query = {"labelSelector": "catalog=" + source, "fieldSelector": "metadata.name=" + package}
    listing = k8s.read(api, olm.package_manifest_path(namespace, ""), query) or {}
    for item in listing.get("items") or []:
        if (item.get("metadata") or {}).get("name") == package and olm.offered_by(item, source, namespace):
            return item
    return manifest


# ------------------------------------------------------------------ installing


class Installer:
    """Talks to the cluster; the decisions come from module_utils.olm.

    ``sleep`` and ``clock`` are those of the wait (see waiter.Deadline).
    """

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
        self.action, self.sub = "create", None  # as decided (see decide)

    def items(self, path):
        """The items of a list; a missing collection (its API not served) raises."""
        return (self.api.get(path) or {}).get("items") or []

    # -- writes --------------------------------------------------------------
    def create(self, collection, body, kind, name, namespace):
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
        self.result["created"].append("/".join((kind, namespace, name)))

    # -- steps ---------------------------------------------------------------
    def run(self):
        """All the steps for this one operator (see install_all for several)."""
        return install_all([self])[0].result

    def decide(self, subs):
        """Choose the Subscription among ``subs`` (every one of the cluster); the catalog is checked when
        something is to be written, and before a name conflict is reported. Writes nothing."""
        params = self.params
        try:
            self.action, self.sub = olm.choose_subscription(subs, params)
            conflict = None
        except ValueError as exc:
            self.action, self.sub, conflict = "create", None, exc
        if conflict is not None or olm.needs_write(self.action, self.sub, params):
            self.check_package()
            if conflict is not None:
                raise Failure("%s: %s" % (params["component"], conflict))

    def write(self):
        """Create or patch what ``decide`` found missing or different."""
        if self.action == "reuse":
            meta = self.sub["metadata"]
            self.result.update(reused=True, subscription=dict(name=meta["name"], namespace=meta["namespace"]))
        elif olm.needs_write(self.action, self.sub, self.params):
            self.ensure_namespace()
            self.ensure_operator_group()
            self.ensure_subscription(self.sub)
            self.sub = None  # written: read it afresh while waiting

    def done(self):
        """After the wait or the look: what the result also tells of a ready operator."""
        if self.result["ready"] and not self.result["operator_group"] and self.action == "manage":
            self.result["operator_group"] = olm.csv_operator_group(self.last_csv)

    def check_package(self):
        params = self.params
        manifest = find_package(self.api, params["source_namespace"], params["package"], params["source"])
        problem = olm.package_problem(manifest, params)
        if problem:
            raise Failure("%s: %s" % (params["component"], problem))

    def ensure_namespace(self):
        name = self.params["namespace"]
        if ap.Applier(self.api, self.check_mode, self.labels).ensure_namespace(name) == ap.CREATE:
            self.result["changed"] = True
            self.result["created"].append("Namespace/" + name)

    def ensure_operator_group(self):
        ns = self.params["namespace"]
        groups = self.items(olm.olm_path("operatorgroups", ns))
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
        if names and olm.evaluate(obs)[0] != "ready":
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

    def poll(self, obs):
        """One look while waiting: ready, failed (raises Failure) or waiting.

        A look whose read failed transiently (k8s.Api gave up retrying it) is
        noted in the report and the polling goes on.
        """
        component = self.params["component"]
        try:
            self.observe(obs, self.action != "reuse", self.sub)
        except k8s.ApiError as exc:
            if not k8s.is_transient(exc.status):
                raise Failure("%s: reading the cluster failed: %s" % (component, exc), olm.debug(obs)) from None
            obs["error"] = "%s (HTTP %s)" % (exc, exc.status)
            return "waiting"
        finally:
            self.sub = None  # only the first look uses the Subscription read before
        state = self.evaluate(obs)
        if state == "failed":
            raise self.fail((component, obs), obs)
        return state


def install_all(installers):
    """Run the Installers together: every Subscription is decided (catalogs checked) before the first
    write, and every one is written before waiting on any. Then, with ``wait``, polls them all until each
    is ready (one deadline: the longest wait_timeout); raises Failure for the first that fails or, at the
    deadline, for the first still not ready. Without ``wait``, looks once at each that had nothing to write
    and whose Subscription names a CSV. Returns the installers."""
    if not installers:
        return installers
    first = installers[0]
    subs = first.items(olm.olm_path("subscriptions"))
    for inst in installers:
        inst.decide(subs)
    for inst in installers:
        inst.write()
    if first.check_mode:
        return installers
    if not first.params["wait"]:
        for inst in installers:
            if inst.sub is not None and olm.target_csv(inst.sub):
                # nothing written and OLM has picked a CSV: one look tells whether a later wait is needed
                inst.look(inst.sub)
            inst.done()
        return installers
    timeout = max(inst.params["wait_timeout"] for inst in installers)
    deadline = waiter.Deadline(timeout, first.clock, first.sleep)
    pending = [(inst, inst.new_observation()) for inst in installers]
    for _elapsed in waiter.polls(deadline, min(inst.params["wait_sleep"] for inst in installers)):
        for entry in list(pending):
            if entry[0].poll(entry[1]) == "ready":
                entry[0].done()
                pending.remove(entry)
        if not pending:
            return installers
    inst, obs = pending[0]
    raise inst.fail((inst.params["component"], obs, timeout), obs)


# ------------------------------------------------------------------ the olm_operator module

# What the result tells of each operator.
PER_OPERATOR = ("subscription", "reused", "created", "operator_group", "csv", "approved_install_plans", "ready")


def options():
    """The options of the olm_operator module, besides kubernetes.core's connection options."""
    entry = dict(
        component=dict(type="str"),
        package=dict(type="str"),
        channel=dict(type="str"),
        source=dict(type="str"),
        source_namespace=dict(type="str"),
        approval=dict(type="str", choices=["Automatic", "Manual"]),
        starting_csv=dict(type="str"),
        namespace=dict(type="str"),
        subscription_name=dict(type="str"),
        operator_group_name=dict(type="str"),
        operator_group_target_namespaces=dict(type="list", elements="str"),
        labels=dict(type="dict"),
    )
    return dict(
        operators=dict(type="list", elements="dict", options=entry),
        component=dict(type="str", default=""),
        package=dict(type="str", default=""),
        channel=dict(type="str", default=""),
        source=dict(type="str", default="redhat-operators"),
        source_namespace=dict(type="str", default="openshift-marketplace"),
        approval=dict(type="str", default="Automatic", choices=["Automatic", "Manual"]),
        starting_csv=dict(type="str", default=""),
        namespace=dict(type="str", default=""),
        subscription_name=dict(type="str", default=""),
        operator_group_name=dict(type="str", default=""),
        operator_group_target_namespaces=dict(type="list", elements="str", default=[]),
        labels=dict(type="dict", default={}),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=600),
        wait_sleep=dict(type="float", default=2),
    )


def run_module(module):
    """What the olm_operator module does, for ``module`` (an AnsibleModule, or a step of converge)."""
    params = module.params
    errors = option_errors(params)
    if errors:
        module.fail_json(msg="Invalid options: " + "; ".join(errors))
    operators = operators_of(params)
    names = ", ".join(o["component"] for o in operators)
    api, failure = k8s.connect(module)
    if api is None:
        module.fail_json(msg="%s: cannot reach the Kubernetes API at %s: %s" % (names, failure[2], failure[0]))
    installers = [Installer(api, settings, module.check_mode) for settings in operators]
    try:
        install_all(installers)
    except Failure as exc:
        extra = result_of(installers)
        if exc.debug is not None:
            extra["debug"] = exc.debug
        module.fail_json(msg=str(exc), **extra)
    except k8s.ApiError as exc:
        module.fail_json(msg="%s: %s (HTTP %s)" % (names, exc, exc.status), **result_of(installers))
    module.exit_json(**result_of(installers))


def result_of(installers):
    """The module result: one entry per operator, their sum, and the one operator's keys when alone."""
    results = [dict(inst.result, component=inst.params["component"]) for inst in installers]
    out = dict(changed=any(r["changed"] for r in results), operators=results,
               created=[name for r in results for name in r["created"]],
               ready=all(r["ready"] for r in results))
    if len(results) == 1:
        out.update((key, results[0][key]) for key in PER_OPERATOR if key not in out)
    return out
