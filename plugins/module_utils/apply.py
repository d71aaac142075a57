# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The one way the collection writes objects.

For every wanted object: create it when absent, patch it when it is ours and
differs from what is wanted, keep it when equal, reuse it (never change it)
when it exists without the collection's mark. The decisions are pure
functions; ``Applier`` runs them against the API, with dry runs in check
mode, and ``wait_for`` waits until what was applied is ready.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s, waiter
from ansible_collections.parodos.orchestrator.plugins.module_utils import readiness as rd

CREATE, UPDATE, KEEP, REUSE = "create", "update", "keep", "reuse"
REDACTED = "<redacted>"
REDACTED_CHANGED = "<redacted:changed>"
# The mark every object the collection creates carries (see k8s.is_ours).
MARK = {k8s.MANAGED_BY: k8s.OWNERSHIP_LABELS[k8s.MANAGED_BY]}
# Top-level fields that are not part of what is wanted of an object.
NOT_WANTED = ("apiVersion", "kind", "metadata", "status")
# Metadata fields the collection sets.
WANTED_METADATA = ("labels", "annotations")
# Plural and scope of every kind the collection applies, without discovery documents.
RESOURCES = k8s.RESOURCES


def ref(obj):
    """"Kind/namespace/name", or "Kind/name" for a cluster-scoped object (as olm_operator reports them)."""
    meta = obj.get("metadata") or {}
    parts = [obj.get("kind"), meta.get("namespace"), meta.get("name")]
    return "/".join(str(part) for part in parts if part)


def key_of(obj):
    """(apiVersion, kind, namespace, name) of an object."""
    meta = obj.get("metadata") or {}
    return obj.get("apiVersion"), obj.get("kind"), meta.get("namespace") or "", meta.get("name")


def with_labels(obj, labels):
    """A copy of ``obj`` carrying ``labels`` besides its own (its own win)."""
    out = copy.deepcopy(obj)
    if labels:
        meta = out.setdefault("metadata", {})
        meta["labels"] = dict(labels, **(meta.get("labels") or {}))
    return out


def _decoded(data):
    out = {}
    for key, value in (data or {}).items():
        try:
            out[key] = base64.b64decode(value or "").decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            out[key] = None
    return out


def comparable(obj):
    """The object as compared: a Secret's stringData folded into decoded data."""
    if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1":
        return obj
    out = dict(obj)
    data = _decoded(obj.get("data"))
    data.update(obj.get("stringData") or {})
    out.pop("stringData", None)
    if data or "data" in obj or "stringData" in obj:
        out["data"] = data
    return out


def contains(current, wanted):
    """Whether ``current`` holds every field of ``wanted`` with the same value.

    Mappings compare key by key (the server may add keys); a key wanted as
    null (removed by the merge patch) must be absent; lists compare item by
    item and must have the same length.
    """
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(
            current.get(key) is None if value is None else key in current and contains(current[key], value)
            for key, value in wanted.items())
    if isinstance(wanted, list):
        return isinstance(current, list) and len(current) == len(wanted) and all(
            contains(c, w) for c, w in zip(current, wanted))
    return current == wanted


def wanted_fields(obj):
    """What the collection sets on an object: labels, annotations and everything but metadata and status."""
    meta = obj.get("metadata") or {}
    out = {key: copy.deepcopy(value) for key, value in obj.items() if key not in NOT_WANTED}
    wanted_meta = {key: copy.deepcopy(meta[key]) for key in WANTED_METADATA if meta.get(key)}
    if wanted_meta:
        out["metadata"] = wanted_meta
    return out


def decide(current, wanted):
    """create, update, keep or reuse."""
    if current is None:
        return CREATE
    if not k8s.is_ours(current):
        return REUSE
    if contains(comparable(current), wanted_fields(comparable(wanted))):
        return KEEP
    return UPDATE


def project(current, shape):
    """The parts of ``current`` at the paths of ``shape`` (for a diff of what is set)."""
    if isinstance(shape, dict) and isinstance(current, dict):
        return {key: project(current[key], value) for key, value in shape.items() if key in current}
    return copy.deepcopy(current)


def redact(obj):
    """A copy of a Secret with every value replaced by a marker (the key names stay); other objects as they are."""
    if obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    for field in ("data", "stringData"):
        if isinstance(out.get(field), dict):
            out[field] = {key: REDACTED for key in out[field]}
        elif field in out:
            out[field] = REDACTED
    return out


def documents(definition):
    """(definition, "") with a string read as YAML documents, or (None, why) when it is not valid YAML."""
    if not isinstance(definition, str):
        return definition, ""
    import yaml

    try:
        return [doc for doc in yaml.safe_load_all(definition) if doc is not None], ""
    except yaml.YAMLError as exc:
        return None, "definition is not valid YAML: %s" % " ".join(str(exc).split())


def redacted_definition(definition):
    """``definition`` as the task result may show it: the values of every Secret in it replaced.

    A string is read as YAML documents; one that is not valid YAML is not shown at all.
    """
    definition, why = documents(definition)
    if why:
        return REDACTED
    if isinstance(definition, list):
        return [redacted_definition(item) for item in definition]
    if isinstance(definition, dict):
        return redact(definition)
    return definition


def diff(current, wanted):
    """{before, after} of the fields the collection sets, Secret values redacted.

    A Secret value shows as "<redacted>", one that changes (or is added) as
    "<redacted:changed>" after; no value, plain or encoded, is in the diff.
    """
    shape = wanted_fields(comparable(wanted))
    before = project(comparable(current), shape) if current is not None else {}
    after = k8s.apply_merge_patch(before, shape)
    if wanted.get("kind") == "Secret":
        old, new = before.get("data") or {}, after.get("data") or {}
        before = dict(before, data={key: REDACTED for key in old}) if "data" in before else before
        after = dict(after, data={key: REDACTED if key in old and old[key] == value else REDACTED_CHANGED
                                  for key, value in new.items()})
    identity = {key: value for key, value in (wanted.get("metadata") or {}).items() if key in ("name", "namespace")}

    def named(view):
        out = {"apiVersion": wanted.get("apiVersion"), "kind": wanted.get("kind")}
        out.update(view)
        out["metadata"] = dict(identity, **(view.get("metadata") or {}))
        return out

    return {"before": named(before) if current is not None else {}, "after": named(after)}


def record_of(obj, action):
    """The result entry of one object."""
    meta = obj.get("metadata") or {}
    return {"ref": ref(obj), "api_version": obj.get("apiVersion"), "kind": obj.get("kind"), "name": meta.get("name"),
            "namespace": meta.get("namespace") or "", "action": action, "ready": None, "sent": True}


def patch_of(wanted):
    """The merge patch that makes an object of ours what is wanted."""
    return wanted_fields(wanted)


class Applier:
    """Applies objects one by one through ``api`` (a k8s.Api); ``check_mode`` sends dry runs only."""

    def __init__(self, api, check_mode=False, labels=None, create_namespaces=True):
        self.api = api
        self.check_mode = check_mode
        self.labels = dict(labels or {}, **MARK)
        self.create_namespaces = create_namespaces
        self.discovery = k8s.Discovery(api, RESOURCES)
        self.namespaces = {}  # name -> exists (True/False) as found or made
        self.dry_run_namespaces = set()  # created by a dry run: reported once, still missing
        self.results = []
        self.applied = []  # (wanted object, its record)
        self.diffs = []
        self.listed = {}  # (apiVersion, kind, namespace, name) -> ours as listed, read once by read()

    # -------------------------------------------------------------- lookups

    def path(self, obj, with_name=True):
        """The API path of an object (or of its collection).

        Raises ApiError when the kind is not served, ValueError when a namespaced object has no namespace.
        """
        meta = obj.get("metadata") or {}
        path, namespaced, why = self.discovery.path(obj["apiVersion"], obj["kind"], meta.get("namespace") or "",
                                                    meta["name"] if with_name else "")
        if path is None:
            raise k8s.ApiError("%s: %s" % (ref(obj), why), 404)
        if namespaced and not meta.get("namespace"):
            raise ValueError("%s: metadata.namespace must be set for a namespaced kind" % ref(obj))
        return path

    def read(self, obj):
        """(current object or None, served): None when absent; served False when the kind is not served.

        An object that ``prefetch`` listed is taken from the list the first time, read afresh after that.
        """
        listed = self.listed.pop(key_of(obj), None)
        if listed is not None:
            return listed, True
        try:
            return self.api.get(self.path(obj)), True
        except k8s.ApiError as exc:
            if exc.status == 404:
                # a Status NotFound: the object is absent; a plain 404: no API serves the kind (yet)
                return None, not exc.not_served
            raise

    def prefetch(self, objects):
        """Read our objects of every kind and namespace that ``objects`` hold two or more of with one list.

        Only objects with the collection's mark are listed; one not in the list (absent, or someone else's)
        is read on its own later. A list that fails is left to those reads.
        """
        groups = {}
        for obj in objects:
            key = key_of(obj)
            groups.setdefault(key[:3], []).append(key)
        selector = ",".join("%s=%s" % item for item in sorted(MARK.items()))
        for (api_version, kind, namespace), keys in sorted(groups.items()):
            if len(keys) < 2:
                continue
            try:
                path = self.path({"apiVersion": api_version, "kind": kind, "metadata": {"namespace": namespace}},
                                 with_name=False)
                listing = self.api.get(path, {"labelSelector": selector}) or {}
            except (k8s.ApiError, ValueError):
                continue
            wanted = set(keys)
            for item in listing.get("items") or []:
                item = dict(item, apiVersion=api_version, kind=kind)  # list items may omit both
                key = key_of(item)
                if key in wanted:
                    if kind == "Namespace" and api_version == "v1":
                        self.namespaces[key[3]] = True
                    else:
                        self.listed[key] = item

    def namespace_exists(self, name):
        if name not in self.namespaces:
            self.namespaces[name] = k8s.read(self.api, k8s.api_path("v1", "namespaces", name=name)) is not None
        return self.namespaces[name]

    # -------------------------------------------------------------- writing

    def ensure_namespace(self, name, labels=None):
        """Create the namespace ``name`` with our labels when it does not exist; never change one that does.

        The one place where the collection makes namespaces. Returns the action (create or keep).
        """
        if self.namespace_exists(name):
            return KEEP
        if name in self.dry_run_namespaces:
            return CREATE
        body = {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": dict(self.labels, **(labels or {}))}}
        try:
            self._create(k8s.api_path("v1", "namespaces"), body, ref(body))
        except k8s.ApiError as exc:
            if not (exc.status == 409 and exc.reason == "AlreadyExists"):
                raise
            # made meanwhile: by the lost answer of our own request when it carries our mark
            self.namespaces[name] = True
            if self.check_mode or not k8s.is_ours(k8s.read(self.api, k8s.api_path("v1", "namespaces", name=name))):
                return KEEP
        else:
            # after a dry run the namespace still does not exist: nothing can be sent into it
            self.namespaces[name] = not self.check_mode
            if self.check_mode:
                self.dry_run_namespaces.add(name)
        self.results.append(record_of(body, CREATE))
        self.diffs.append(diff(None, body))
        return CREATE

    def _create(self, collection, body, what):
        if self.check_mode and not self.api_dry_run_possible(body):
            return body
        try:
            return self.api.create(collection, body, dry_run=self.check_mode)
        except k8s.ApiError as exc:
            if exc.status == 409 and exc.reason == "AlreadyExists":
                # an earlier attempt whose answer was lost, or someone else: decided again by the caller
                raise
            raise k8s.ApiError("%s: create failed: %s" % (what, exc), exc.status, exc.reason) from exc

    def api_dry_run_possible(self, body):
        """In check mode, a dry run needs the namespace (and the API) to exist already."""
        namespace = (body.get("metadata") or {}).get("namespace")
        return not namespace or self.namespace_exists(namespace)

    def apply(self, wanted):
        """Apply one object; returns its result record.

        A Namespace is only ever created (with its labels), never changed: see ensure_namespace.
        """
        if wanted.get("kind") == "Namespace" and wanted.get("apiVersion") == "v1":
            name = (wanted.get("metadata") or {}).get("name")
            for record in self.results:
                if record["kind"] == "Namespace" and record["name"] == name:
                    return record  # made earlier in this run, for an object in it
            created = self.ensure_namespace(name, (wanted.get("metadata") or {}).get("labels")) == CREATE
            if created:
                return self.results[-1]
            record = record_of(wanted, KEEP)
            self.results.append(record)
            return record
        wanted = with_labels(wanted, self.labels)
        meta = wanted.get("metadata") or {}
        what = ref(wanted)
        current, served = self.read(wanted)
        namespace = meta.get("namespace")
        if current is None and namespace and self.create_namespaces:
            self.ensure_namespace(namespace)
        action = decide(current, wanted)
        record = record_of(wanted, action)
        if action in (CREATE, UPDATE):
            self.diffs.append(diff(current, wanted))
        if action == CREATE:
            if not served and self.check_mode:
                record["sent"] = False
                record["why"] = "kind %s is not served yet" % wanted.get("kind")
            elif not served:
                raise k8s.ApiError("%s: kind %s is not served by %s" % (what, wanted["kind"], wanted["apiVersion"]), 404)
            elif self.check_mode and not self.api_dry_run_possible(wanted):
                record["sent"] = False
                record["why"] = "namespace %s does not exist yet" % namespace
            else:
                try:
                    current = self._create(self.path(wanted, with_name=False), wanted, what)
                except k8s.ApiError as exc:
                    if not (exc.status == 409 and exc.reason == "AlreadyExists"):
                        raise
                    return self.apply_again(wanted, record)
        elif action == UPDATE:
            current = self._update(wanted, what)
        # What a write answers is the object before any controller saw the change: not ready yet.
        self.note_readiness(record, wanted, current, action not in (CREATE, UPDATE))
        self.results.append(record)
        return record

    def _update(self, wanted, what):
        try:
            return self.api.merge_patch(self.path(wanted), patch_of(wanted), dry_run=self.check_mode)
        except k8s.ApiError as exc:
            raise k8s.ApiError("%s: update failed: %s" % (what, exc), exc.status, exc.reason) from exc

    def apply_again(self, wanted, record):
        """Decide again after a create found the object there.

        Equal to what is wanted: the lost answer of an earlier attempt, so created. Ours but different
        (another run): updated. Without our mark (someone else): reused.
        """
        what = record["ref"]
        current, _served = self.read(wanted)
        if current is None:  # deleted again meanwhile
            raise k8s.ApiError("%s: create failed: it existed, then did not" % what, 409, "AlreadyExists")
        action = decide(current, wanted)
        if action == UPDATE:
            self.diffs[-1] = diff(current, wanted)
            current = self._update(wanted, what)
        elif action == REUSE:
            self.diffs.pop()
        record["action"] = CREATE if action == KEEP else action
        self.note_readiness(record, wanted, current, action == REUSE)
        self.results.append(record)
        return record

    def note_readiness(self, record, wanted, current, as_read):
        """Set ``ready`` of an object with a readiness rule (not in check mode): from ``current`` when it is the
        object as read (``as_read``), else False (just written: no controller has seen it yet)."""
        if rd.rule_of(wanted["apiVersion"], wanted["kind"]) is not None and not self.check_mode:
            record["ready"] = as_read and rd.evaluate(self.wait_item(wanted), current)[0] == rd.READY

    def apply_all(self, objects):
        self.prefetch(objects)
        for obj in objects:
            self.applied.append((obj, self.apply(obj)))
        return self.results

    # -------------------------------------------------------------- waiting

    @staticmethod
    def wait_item(obj, component=""):
        meta = obj.get("metadata") or {}
        item = {"api_version": obj["apiVersion"], "kind": obj["kind"], "name": meta.get("name"),
                "namespace": meta.get("namespace") or "", "component": component}
        items, errors = rd.normalize([item])
        return items[0] if items else None

    def wait_for(self, deadline, sleep, component=""):
        """Wait until every applied object with a readiness rule is ready.

        Returns None, or the message naming what failed or is still not ready.
        """
        total = sum(1 for _obj, record in self.applied if record.get("ready") is not None)
        pending = [(self.wait_item(obj, component or ref(obj)), record, obj)
                   for obj, record in self.applied if record.get("ready") is False]
        last = {}
        for _elapsed in waiter.polls(deadline, sleep):
            for entry in list(pending):
                item, record, obj = entry
                state, text = rd.evaluate(item, self.read(obj)[0])
                last[id(item)] = text
                if state == rd.READY:
                    record["ready"] = True
                    pending.remove(entry)
                elif state == rd.FAILED:
                    return rd.failure_message(item, text)
            if not pending:
                return None
        return rd.timeout_message(deadline.timeout, [(item, last.get(id(item), "not read")) for item, _r, _o in pending],
                                  total)


# ------------------------------------------------------------------ input and output


def objects_of(definition, where="definition"):
    """(objects, errors) of a definition: a list, a mapping or a string of YAML documents.

    An error names the index (``definition[2]``, ``definition[2][0]`` in a nested list), the kind and
    name when known, and the field.
    """
    definition, why = documents(definition)
    if why:
        return [], [why]
    if isinstance(definition, dict):
        definition = [definition]
    if not isinstance(definition, list):
        return [], ["definition must be a list of objects, an object or YAML documents"]
    objects, errors = [], []
    for index, obj in enumerate(definition):
        at = "%s[%d]" % (where, index)
        if isinstance(obj, list):  # a template may render a list per document
            sub, sub_errors = objects_of(obj, at)
            objects += sub
            errors += sub_errors
            continue
        if not isinstance(obj, dict):
            errors.append("%s must be a mapping" % at)
            continue
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        what = " ".join(str(part) for part in (obj.get("kind") or "?", meta.get("name")) if part)
        missing = [key for key in ("apiVersion", "kind") if not obj.get(key)]
        if not meta.get("name"):
            missing.append("metadata.name")
        if missing:
            errors.append("%s (%s): %s must be set" % (at, what, ", ".join(missing)))
            continue
        known = RESOURCES.get((obj["apiVersion"], obj["kind"]))
        if known is not None and known[1] and not meta.get("namespace"):
            errors.append("%s (%s): metadata.namespace must be set for a namespaced kind" % (at, what))
            continue
        objects.append(obj)
    return objects, errors


def summary(results):
    """The module result for the records of an apply."""
    by_action = {action: [r["ref"] for r in results if r["action"] == action]
                 for action in (CREATE, UPDATE, KEEP, REUSE)}
    return {
        "changed": bool(by_action[CREATE] or by_action[UPDATE]),
        "objects": results,
        "created": by_action[CREATE],
        "updated": by_action[UPDATE],
        "kept": by_action[KEEP],
        "reused": by_action[REUSE],
        "ready": all(r.get("ready") is not False for r in results),
    }


def options():
    """The options of the apply module, besides kubernetes.core's connection options."""
    return dict(
        definition=dict(type="raw", required=True),
        labels=dict(type="dict", default={}),
        component=dict(type="str", default=""),
        create_namespaces=dict(type="bool", default=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=600),
        wait_sleep=dict(type="float", default=2),
    )


def shown_options(params):
    """The options as given, for a result: no value of a Secret of the definition (redacted_definition)."""
    return dict(params, definition=redacted_definition(params.get("definition")))


def _prefix(params):
    return params["component"] + ": " if params["component"] else ""


def run_module(module):
    """What the apply module does, for ``module`` (an AnsibleModule, or a step of converge)."""
    params = module.params
    # the definition is read once (a string as YAML documents); the result shows the options as given, but no
    # value of a Secret
    definition, why = documents(params["definition"])
    invocation = {"module_args": shown_options(params if why else dict(params, definition=definition))}
    objects, errors = objects_of(definition) if not why else ([], [why])
    errors += k8s.timing_errors(params["wait_timeout"], params["wait_sleep"])
    mark = (params["labels"] or {}).get(k8s.MANAGED_BY, MARK[k8s.MANAGED_BY])
    if mark != MARK[k8s.MANAGED_BY]:
        errors.append("labels: %s must be %s (the collection's mark), got %r"
                      % (k8s.MANAGED_BY, MARK[k8s.MANAGED_BY], mark))
    prefix = _prefix(params)
    if errors:
        module.fail_json(msg=prefix + "Invalid options: " + "; ".join(errors), changed=False, invocation=invocation)
    api = k8s.connect_or_fail(module, changed=False, invocation=invocation)
    applier = Applier(api, module.check_mode, params["labels"], params["create_namespaces"])
    try:
        applier.apply_all(objects)
    except k8s.ApiError as exc:
        return _finish(module, applier, invocation, "%s%s (HTTP %s)" % (prefix, exc, exc.status))
    except ValueError as exc:
        return _finish(module, applier, invocation, prefix + str(exc))
    pending = [record for record in applier.results if record.get("ready") is False]
    if not params["wait"] or module.check_mode or not pending:
        return _finish(module, applier, invocation)
    return waiter.now_or_later(module, lambda: _wait_and_finish(module, applier, invocation))


def _wait_and_finish(module, applier, invocation):
    params = module.params
    prefix = _prefix(params)
    api = applier.api
    wait_deadline = waiter.Deadline(params["wait_timeout"], api.deadline.clock, api.deadline.pause)
    # the reads of the wait are retried as long as the wait lasts
    if wait_deadline.at > api.deadline.at:
        api.deadline = wait_deadline
    try:
        message = applier.wait_for(wait_deadline, params["wait_sleep"], params["component"])
    except k8s.ApiError as exc:
        message = "%s%s (HTTP %s)" % (prefix, exc, exc.status)
    except ValueError as exc:
        message = prefix + str(exc)
    return _finish(module, applier, invocation, message)


def _finish(module, applier, invocation, message=None):
    result = summary(applier.results)
    result["invocation"] = invocation
    if module._diff:
        result["diff"] = applier.diffs
    for record in applier.results:
        if record["action"] == REUSE:
            module.warn("%s exists without the collection's mark (app.kubernetes.io/managed-by): used as it is"
                        % record["ref"])
    if message:
        module.fail_json(msg=message, **result)
    module.exit_json(**result)
