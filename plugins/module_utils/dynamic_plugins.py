# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for the plugin list of a dynamic-plugins ConfigMap.

Nothing here talks to the cluster: ``parse`` reads the key, ``merge``
decides the new document, ``configmap``/``patch`` build the request bodies.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

try:
    import yaml
except ImportError:  # pragma: no cover - kubernetes.core's module setup reports the missing PyYAML
    yaml = None

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import (
    OWNERSHIP_LABELS,
)

ANNOTATION = "parodos.orchestrator/dynamic-plugins"
DEFAULT_KEY = "dynamic-plugins.yaml"
DEFAULT_INCLUDES = ["dynamic-plugins.default.yaml"]
LOCAL_PREFIXES = ("./", "../", "/")


class DocumentError(ValueError):
    """The key does not hold a dynamic plugins document."""


def identity(package):
    """The package without its version: what tells one plugin from another.

    ``@scope/name@1.3.0`` -> ``@scope/name``, ``name@^1`` -> ``name``; a
    local path (``./dynamic-plugins/dist/x``) or URL is its own identity; for
    ``oci://image:tag!plugin`` (or ``@sha256:...``) the tag or digest is dropped.
    """
    package = (package or "").strip()
    if package.startswith(LOCAL_PREFIXES) or ("://" in package and not package.startswith("oci://")):
        return package
    if package.startswith("oci://"):
        image, bang, plugin = package.partition("!")
        ref = image[len("oci://"):]
        if "@" in ref:
            ref = ref.split("@", 1)[0]
        else:
            slash = ref.rfind("/")
            colon = ref.rfind(":")
            if colon > slash:
                ref = ref[:colon]
        return "oci://" + ref + bang + plugin
    at = package.find("@", 1)  # a leading @ starts a scope, not a version
    return package[:at] if at > 0 else package


def entry_identity(entry):
    """Identity of a plugin entry of the document; None when it has no package."""
    if isinstance(entry, dict) and isinstance(entry.get("package"), str) and entry["package"].strip():
        return identity(entry["package"])
    return None


def wanted_entry(plugin):
    """The entry written for one item of the ``plugins`` option."""
    out = {"package": plugin["package"]}
    if plugin.get("integrity"):
        out["integrity"] = plugin["integrity"]
    out["disabled"] = bool(plugin.get("disabled"))
    if plugin.get("pluginConfig") is not None:
        out["pluginConfig"] = copy.deepcopy(plugin["pluginConfig"])
    return out


def validate(plugins):
    """Errors in the ``plugins`` option, as a list of strings."""
    errors = []
    seen = {}
    for index, plugin in enumerate(plugins or []):
        package = (plugin or {}).get("package")
        if not isinstance(package, str) or not package.strip():
            errors.append("plugins[%d]: package must not be empty" % index)
            continue
        ident = identity(package)
        if ident in seen:
            errors.append("plugins[%d]: %s is the same plugin as plugins[%d]" % (index, package, seen[ident]))
        else:
            seen[ident] = index
        config = plugin.get("pluginConfig")
        if config is not None and not isinstance(config, dict):
            errors.append("plugins[%d]: pluginConfig of %s must be a mapping" % (index, package))
    return errors


def new_document():
    """The document of a ConfigMap this module creates (before the plugins go in)."""
    return {"includes": list(DEFAULT_INCLUDES), "plugins": []}


def parse(text):
    """The parsed document of the key; a missing or empty key gives ``new_document()``.

    Raises DocumentError when the text is not YAML, not a mapping, or its
    ``plugins`` is not a list.
    """
    if text is None or not text.strip():
        return new_document()
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DocumentError("not valid YAML: %s" % " ".join(str(exc).split())) from None
    if doc is None:
        return new_document()
    if not isinstance(doc, dict):
        raise DocumentError("the top level is a %s, not a mapping" % type(doc).__name__)
    if doc.get("plugins") is not None and not isinstance(doc["plugins"], list):
        raise DocumentError("plugins is a %s, not a list" % type(doc["plugins"]).__name__)
    return doc


def dump(doc):
    """The YAML text written to the key."""
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def recorded(annotations):
    """(identities recorded as ours, warning or "") from the ConfigMap's annotations."""
    raw = (annotations or {}).get(ANNOTATION)
    if raw is None:
        return [], ""
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return [], "annotation %s is not a JSON list of plugin names; it is ignored and rewritten" % ANNOTATION
    return value, ""


def annotation_value(identities):
    """The annotation text for the managed identities (sorted JSON list)."""
    return json.dumps(sorted(set(identities)))


def merge(doc, plugins, ours):
    """Put the wanted ``plugins`` into ``doc``.

    ``ours``: identities recorded as managed by an earlier run. Entries of a
    wanted plugin are replaced in place (a repeat is dropped); wanted ones
    not found are appended; entries of ``ours`` no longer wanted are removed;
    everything else stays as it is. Returns (new document, report) with
    ``added``, ``updated``, ``removed`` (identities, in order) and
    ``managed`` (sorted wanted identities).
    """
    wanted = {}
    for plugin in plugins or []:
        entry = wanted_entry(plugin)
        wanted.setdefault(identity(entry["package"]), entry)
    ours = set(ours or [])
    added, updated, removed = [], [], []
    placed = set()
    out = []
    for entry in doc.get("plugins") or []:
        ident = entry_identity(entry)
        if ident in wanted:
            if ident in placed:
                _note(updated, ident)  # a repeat collapses into the first one
                continue
            placed.add(ident)
            if entry != wanted[ident]:
                _note(updated, ident)
            out.append(copy.deepcopy(wanted[ident]))
        elif ident is not None and ident in ours:
            _note(removed, ident)
        else:
            out.append(copy.deepcopy(entry))
    for ident, entry in wanted.items():
        if ident not in placed:
            added.append(ident)
            out.append(copy.deepcopy(entry))
    new = copy.deepcopy(doc)
    if out or doc.get("plugins") is not None:
        new["plugins"] = out
    report = {"added": added, "updated": updated, "removed": removed, "managed": sorted(wanted)}
    return new, report


def _note(items, ident):
    if ident not in items:
        items.append(ident)


def configmap(name, namespace, key, doc, managed, labels):
    """Body of a new ConfigMap with our marks and the managed identities."""
    all_labels = dict(OWNERSHIP_LABELS)
    all_labels.update(labels or {})
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": all_labels,
                     "annotations": {ANNOTATION: annotation_value(managed)}},
        "data": {key: dump(doc)},
    }


def patch(existing, key, before, after, managed):
    """Merge patch for an existing ConfigMap; None when nothing differs.

    ``before``/``after``: the parsed documents. The key is rewritten only when
    the documents differ, the annotation only when the managed set differs;
    the resourceVersion makes the write fail when someone changed the
    ConfigMap since it was read. No label is added.
    """
    meta = existing.get("metadata") or {}
    body = {}
    text = (existing.get("data") or {}).get(key)
    if before != after or text is None or not text.strip():
        body["data"] = {key: dump(after)}
    value = annotation_value(managed)
    if (meta.get("annotations") or {}).get(ANNOTATION) != value:
        body["metadata"] = {"annotations": {ANNOTATION: value}}
    if not body:
        return None
    if meta.get("resourceVersion"):
        body.setdefault("metadata", {})["resourceVersion"] = meta["resourceVersion"]
    return body


# ------------------------------------------------------------------ the dynamic_plugins module

ATTEMPTS = 3


def options():
    """The options of the dynamic_plugins module, besides kubernetes.core's connection options."""
    return dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        key=dict(type="str", default=DEFAULT_KEY, no_log=False),
        plugins=dict(
            type="list", elements="dict", required=True,
            options=dict(package=dict(type="str", required=True),
                         disabled=dict(type="bool", default=False),
                         integrity=dict(type="str"),
                         pluginConfig=dict(type="dict")),
        ),
        create=dict(type="bool", default=True),
        labels=dict(type="dict", default={}),
    )


class Report:
    """What the run did, and the diff."""

    def __init__(self):
        self.changed = False
        self.created = False
        self.added, self.updated, self.removed, self.warnings = [], [], [], []
        self.before, self.after = {}, {}


def ensure(api, params, check_mode):
    """Ensure the plugin entries; returns a Report. ValueError/ApiError on failure."""
    name, namespace, key = params["name"], params["namespace"], params["key"]
    ref = "ConfigMap %s/%s" % (namespace, name)
    collection = k8s.api_path("v1", "configmaps", namespace)
    path = k8s.api_path("v1", "configmaps", namespace, name)
    for attempt in range(1, ATTEMPTS + 1):
        report = Report()
        existing = k8s.read(api, path)
        if existing is None:
            if not params["create"]:
                raise ValueError("%s does not exist (create is false)" % ref)
            after, plan = merge(new_document(), params["plugins"], [])
            body = configmap(name, namespace, key, after, plan["managed"], params["labels"])
            try:
                api.create(collection, body, dry_run=check_mode)
            except k8s.ApiError as exc:
                if exc.status == 409 and attempt < ATTEMPTS:
                    continue  # created meanwhile: merge into it
                if not (exc.status == 404 and check_mode):
                    raise
            report.changed = report.created = True
            report.added = plan["added"]
            report.after = after
            return report
        text = (existing.get("data") or {}).get(key)
        try:
            before = parse(text)
        except DocumentError as exc:
            raise ValueError("%s, key %s: %s; nothing was written" % (ref, key, exc)) from None
        meta = existing.get("metadata") or {}
        ours, warning = recorded(meta.get("annotations"))
        if warning:
            report.warnings.append("%s: %s" % (ref, warning))
        after, plan = merge(before, params["plugins"], ours)
        report.before = before if text and text.strip() else {}
        report.after = after
        body = patch(existing, key, before, after, plan["managed"])
        if body is None:
            report.after = report.before
            return report
        try:
            api.merge_patch(path, body, dry_run=check_mode)
        except k8s.ApiError as exc:
            if exc.status == 409 and attempt < ATTEMPTS:
                continue  # changed since it was read: read and merge again
            raise
        report.changed = True
        report.added, report.updated, report.removed = plan["added"], plan["updated"], plan["removed"]
        return report
    raise AssertionError("unreachable")  # pragma: no cover


def run_module(module):
    """What the dynamic_plugins module does, for ``module`` (an AnsibleModule, or a step of converge)."""
    params = module.params
    ref = "ConfigMap %s/%s" % (params["namespace"], params["name"])
    errors = ["%s must not be empty" % field for field in ("name", "namespace", "key") if not params[field]]
    errors += validate(params["plugins"])
    if errors:
        module.fail_json(msg="%s: invalid options: %s" % (ref, "; ".join(errors)), changed=False)
    api = k8s.connect_or_fail(module)
    try:
        report = ensure(api, params, module.check_mode)
    except (k8s.ApiError, ValueError) as exc:
        message = str(exc)
        module.fail_json(msg=message if message.startswith(ref) else "%s: %s" % (ref, message), changed=False)
    for warning in report.warnings:
        module.warn(warning)
    result = dict(changed=report.changed, configmap=dict(name=params["name"], namespace=params["namespace"]),
                  created=report.created, added=report.added, updated=report.updated, removed=report.removed)
    if module._diff:
        result["diff"] = dict(before=report.before, after=report.after)
    module.exit_json(**result)
