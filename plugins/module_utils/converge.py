# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Several module runs in one task.

A step names a module of the collection and its options; it runs what that
module does (its ``run_module``) with the task's connection options, check
mode and diff mode, in the same process. Every step's options are checked
against its module's argument spec before the first step runs. Steps run in
order; a wait that a step asks for (apply's ``wait``, wait_ready) runs after
every other step, in the order of the steps, so that everything is written
before anything is waited for. A step with ``skip``, or whose
``unless_settled`` steps all reported ``changed=False`` and ``ready=True``, is
skipped. The first step that fails ends the run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.parodos.orchestrator.plugins.module_utils import (
    apply as ap,
    backend_secret as bs,
    dynamic_plugins as dp,
    k8s,
    namespace_labels as nl,
    olm_install,
    preflight as pf,
    secrets as sec,
    waiting,
    workflow_namespace as wn,
)


def _listed_refs(result):
    return result.get("created") or [], result.get("updated") or []


def _configmap_refs(result):
    ref = "ConfigMap/%(namespace)s/%(name)s" % result["configmap"]
    if result.get("created"):
        return [ref], []
    return [], [ref] if result.get("changed") else []


# module name -> (its options, what it does, how its options are shown in the result,
#                 the objects its result says it created and updated)
MODULES = {
    "apply": (ap.options, ap.run_module, ap.shown_options, _listed_refs),
    "backend_secret": (bs.options, bs.run_module, None, None),
    "dynamic_plugins": (dp.options, dp.run_module, None, _configmap_refs),
    "generated_secret": (sec.generated_options, sec.run_module, None, None),
    "namespace_labels": (nl.options, nl.run_module, None, None),
    "olm_operator": (olm_install.options, olm_install.run_module, None, _listed_refs),
    "preflight": (pf.options, pf.run_module, None, None),
    "wait_ready": (waiting.options, waiting.run_module, None, None),
    "workflow_namespace": (wn.options, wn.run_module, None, _listed_refs),
}


class Done(Exception):
    """A step ended with ``result``."""

    def __init__(self, result):
        Exception.__init__(self, "done")
        self.result = result


class Failed(Exception):
    """A step failed with ``msg`` and ``result``."""

    def __init__(self, msg, result):
        Exception.__init__(self, msg)
        self.msg = msg
        self.result = result


class Step:
    """What a module's ``run_module`` sees of its module when it runs as a step."""

    def __init__(self, params, check_mode, diff, no_log_values):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values = no_log_values  # the task's: values found while running are hidden too
        self.warnings = []
        self.later = None

    def warn(self, warning):
        self.warnings.append(warning)

    def defer(self, wait):
        """Keep ``wait`` (which ends the step) to run after the other steps."""
        self.later = wait

    def exit_json(self, **result):
        raise Done(result)

    def fail_json(self, msg, **result):
        raise Failed(msg, result)


def _ended(call):
    """(message or None, result) of a call that ends a step; (None, None) when it left a wait for later."""
    try:
        call()
    except Done as done:
        return None, done.result
    except Failed as failed:
        return failed.msg, failed.result
    return None, None


def prepare(steps, connection, no_log_values):
    """(runnable steps, errors): every step's options checked against its module's argument spec.

    ``connection`` holds the task's connection options, given to every step;
    the values of options marked no_log are added to ``no_log_values``.
    """
    runnable, errors, seen = [], [], []
    for index, entry in enumerate(steps):
        module = entry.get("module")
        name = entry.get("id") or "%s[%d]" % (module, index)
        where = "steps[%d] (%s)" % (index, name)
        if name in seen:
            errors.append("%s: the id %s is used by an earlier step" % (where, name))
        unknown = [other for other in entry.get("unless_settled") or [] if other not in seen]
        if unknown:
            errors.append("%s: unless_settled names no earlier step: %s" % (where, ", ".join(unknown)))
        seen.append(name)
        if module not in MODULES:
            errors.append("%s: module must be one of %s, got %r" % (where, ", ".join(sorted(MODULES)), module))
            continue
        options = dict(entry.get("options") or {})
        given = sorted(set(options) & set(connection))
        if given:
            errors.append("%s: %s are the task's connection options, not a step's" % (where, ", ".join(given)))
            continue
        spec_of, run_module, shown, dummy = MODULES[module]
        checked = ArgumentSpecValidator(k8s.auth_argument_spec(**spec_of())).validate(dict(options, **connection))
        no_log_values.update(checked._no_log_values)
        if checked.error_messages:
            errors.append("%s: %s" % (where, "; ".join(checked.error_messages)))
            continue
        runnable.append(dict(id=name, module=module, params=checked.validated_parameters, run=run_module,
                             options=shown(options) if shown else options, skip=bool(entry.get("skip")),
                             unless_settled=list(entry.get("unless_settled") or [])))
    return runnable, errors


def settled(result):
    return result is not None and not result.get("changed") and result.get("ready", True) is not False


def run(runnable, check_mode, diff, no_log_values, warn):
    """Run the steps, then the waits they left; returns (message of the first failure or None, results).

    ``results`` maps each step's id to its result (without its invocation), in order;
    a skipped step's result is ``{"changed": False, "skipped": True}``.
    """
    results, later = {}, []

    def ended(entry, step, message, result):
        for warning in step.warnings:
            warn(warning)
        result = dict(result or {})
        result.pop("invocation", None)
        results[entry["id"]] = result
        if message:
            result["failed"] = True
            result["msg"] = message
        return message

    for entry in runnable:
        if entry["skip"] or (entry["unless_settled"]
                             and all(settled(results.get(other)) for other in entry["unless_settled"])):
            results[entry["id"]] = {"changed": False, "skipped": True}
            continue
        step = Step(entry["params"], check_mode, diff, no_log_values)
        message, result = _ended(lambda: entry["run"](step))
        if result is None and step.later is not None:
            results[entry["id"]] = None  # its wait runs later
            later.append((entry, step))
        elif ended(entry, step, message, result):
            return message, results
    for entry, step in later:
        message, result = _ended(step.later)
        if ended(entry, step, message, result):
            return message, results
    return None, results


def diffs(results):
    """The diff of the task: every step's diff, headed by the step's id."""
    out = []
    for name, result in results.items():
        found = (result or {}).get("diff")
        for one in found if isinstance(found, list) else [found] if found else []:
            out.append(dict(one, before_header=name, after_header=name))
    return out


# ------------------------------------------------------------------ the converge module


def options():
    """The options of the converge module, besides kubernetes.core's connection options."""
    return dict(
        steps=dict(type="list", elements="dict", required=True, options=dict(
            id=dict(type="str"),
            module=dict(type="str", required=True, choices=sorted(MODULES)),
            options=dict(type="dict", default={}),
            unless_settled=dict(type="list", elements="str", default=[]),
            skip=dict(type="bool", default=False),
        )),
    )


def touched(runnable, results):
    """(created, updated): the objects the steps' results say they created and updated."""
    created, updated = [], []
    for entry in runnable:
        result, refs = results.get(entry["id"]), MODULES[entry["module"]][3]
        if result and refs and not result.get("skipped"):
            more, changed = refs(result)
            created += more
            updated += changed
    return created, updated


def run_module(module):
    """What the converge module does, for ``module`` (an AnsibleModule)."""
    inner = getattr(module, "_module", module)
    connection = dict((key, module.params.get(key)) for key in k8s.auth_argument_spec())
    runnable, errors = prepare(module.params["steps"], connection, inner.no_log_values)
    shown = [dict(id=entry["id"], module=entry["module"], options=entry["options"], skip=entry["skip"],
                  unless_settled=entry["unless_settled"]) for entry in runnable]
    invocation = {"module_args": dict(connection, steps=shown)}
    if errors:
        module.fail_json(msg="Invalid steps: " + "; ".join(errors), changed=False, steps={}, created=[], updated=[],
                         invocation=invocation)
    message, results = run(runnable, module.check_mode, module._diff, inner.no_log_values, module.warn)
    found_diffs = diffs(results)
    for result in results.values():
        if result:
            result.pop("diff", None)
    created, updated = touched(runnable, results)
    out = dict(changed=any((r or {}).get("changed") for r in results.values()), steps=results,
               created=created, updated=updated, invocation=invocation)
    if module._diff:
        out["diff"] = found_diffs
    if message:
        failed = [name for name, result in results.items() if (result or {}).get("failed")]
        module.fail_json(msg=message, failed_step=failed[-1] if failed else "", **out)
    module.exit_json(**out)
