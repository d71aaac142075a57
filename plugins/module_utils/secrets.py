# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Secrets that hold given and generated values.

``plan`` decides the new data, ``build_secret``/``build_patch`` turn the
decision into a request body and ``redacted`` makes the diff; these are pure.
``ensure`` is the one place that reads, creates and patches such a Secret
(with dry run in check mode). Values never reach a report: reports carry key
names only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import secrets
import string

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s

ALPHABET = string.ascii_letters + string.digits
DEFAULT_LENGTH = 32
MIN_LENGTH = 16
PLACEHOLDER = "<hidden>"
CHANGED_PLACEHOLDER = "<hidden, changed>"


def token(length=DEFAULT_LENGTH, alphabet=ALPHABET):
    """A random string from the ``secrets`` module."""
    if length < MIN_LENGTH:
        raise ValueError("a generated value needs at least %d characters, not %d" % (MIN_LENGTH, length))
    return "".join(secrets.choice(alphabet) for dummy in range(length))


def decode_data(data):
    """Secret ``data`` (base64) -> key: text. Bytes that are not UTF-8 are replaced."""
    out = {}
    for key, value in (data or {}).items():
        raw = base64.b64decode(value or "")
        out[key] = raw.decode("utf-8", errors="replace")
    return out


def encode_data(data):
    """key: text -> Secret ``data`` (base64); None (a key to remove) stays None."""
    return {key: None if value is None else base64.b64encode(value.encode("utf-8")).decode("ascii")
            for key, value in data.items()}


def normalize_generate(generate):
    """Entries of the ``generate`` option as (key, length), checked."""
    out = []
    errors = []
    seen = set()
    for entry in generate or []:
        key = entry.get("key") or ""
        length = entry.get("length")
        length = DEFAULT_LENGTH if length is None else length
        if not key:
            errors.append("generate: every entry needs a key")
            continue
        if key in seen:
            errors.append("generate: key %s is listed twice" % key)
        seen.add(key)
        if length < MIN_LENGTH:
            errors.append("generate: length of %s must be at least %d, got %d" % (key, MIN_LENGTH, length))
        out.append((key, length))
    return out, errors


def plan(existing, given, generate, token_fn=token, remove=()):
    """Decide the Secret's data.

    ``existing``: decoded data of the Secret, or None when there is none.
    ``given``: key -> value from the caller; it always wins, except that an
    empty value for a key listed in ``generate`` counts as not given.
    ``generate``: list of (key, length); a value is generated when the key is
    absent or empty in ``existing`` (and not given), and kept afterwards.
    ``remove``: keys to take out of the Secret (unless given or generated).
    Keys of ``existing`` that are not mentioned are kept.

    Returns (data, report): the full new data and a dict with ``changes``
    (key -> new value, None for a removed key; only the keys that differ),
    ``generated``, ``added``, ``updated``, ``removed`` and ``changed_keys``
    (every changed key); all key lists are sorted key names.
    """
    current = dict(existing or {})
    data = dict(current)
    generate_keys = [entry[0] for entry in generate]
    for key, value in (given or {}).items():
        value = "" if value is None else str(value)
        if value == "" and key in generate_keys:
            continue
        data[key] = value
    generated = []
    for key, length in generate:
        if (given or {}).get(key):
            continue
        if not data.get(key):
            data[key] = token_fn(length)
            generated.append(key)
    kept = set(given or {}) | set(generate_keys)
    for key in remove:
        if key not in kept:
            data.pop(key, None)
    changes = {key: value for key, value in data.items() if current.get(key) != value or key not in current}
    removed = sorted(key for key in current if key not in data)
    changes.update((key, None) for key in removed)
    report = {"changes": changes, "generated": sorted(generated), "changed_keys": sorted(changes),
              "added": sorted(key for key in changes if key not in current),
              "updated": sorted(key for key in changes if key in current and key in data),
              "removed": removed}
    return data, report


def metadata_changes(existing_meta, labels, annotations):
    """Labels and annotations (from the wanted ones) that the existing object lacks or has with another value."""
    out = {}
    for field, wanted in (("labels", labels), ("annotations", annotations)):
        have = (existing_meta or {}).get(field) or {}
        diff = {k: v for k, v in (wanted or {}).items() if have.get(k) != v}
        if diff:
            out[field] = diff
    return out


def build_secret(name, namespace, secret_type, labels, annotations, data):
    """Body of a new Secret."""
    metadata = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": secret_type,
            "data": encode_data(data)}


def build_patch(changes, meta_changes):
    """Merge patch with only the changed keys and metadata; None when nothing changes."""
    patch = {}
    if meta_changes:
        patch["metadata"] = dict(meta_changes)
    if changes:
        patch["data"] = encode_data(changes)
    return patch or None


def redacted(obj, changed_keys=()):
    """A copy of a Secret for a diff: every value replaced, key names kept.

    Keys in ``changed_keys`` get a different placeholder, so a diff still
    shows which values change. None (no object) gives {}.
    """
    if not obj:
        return {}
    out = {"apiVersion": obj.get("apiVersion", "v1"), "kind": obj.get("kind", "Secret")}
    meta = obj.get("metadata") or {}
    out["metadata"] = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if meta.get(k)}
    out["type"] = obj.get("type") or "Opaque"
    keys = set(obj.get("data") or {}) | set(obj.get("stringData") or {})
    out["data"] = {k: (CHANGED_PLACEHOLDER if k in changed_keys else PLACEHOLDER) for k in sorted(keys)}
    return out


def scrub(text, values):
    """``text`` with every value of ``values`` (non-empty) masked."""
    for value in values:
        if value:
            text = text.replace(value, "********")
    return text


def ensure(api, name, namespace, decide, check_mode):
    """Read the Secret and make it what ``decide`` wants; the one writer of both modules.

    ``decide(existing)`` gets the Secret (None when absent) and returns a dict:
    ``data`` (full new data), ``report`` (from ``plan``), ``type``,
    ``labels`` and ``annotations`` (wanted ones; others are kept) and
    ``write`` (False leaves an existing Secret alone). An absent Secret is
    created with one POST, an existing one gets one merge patch with only what
    differs, nothing is sent when nothing differs; ``check_mode`` sends the
    writes with dryRun=All. A Secret created meanwhile (409) is read and
    decided again. Error messages are scrubbed of the values being written.

    Returns dict(changed, created, before, after, step): before/after are
    redacted copies for a diff, step is what ``decide`` returned last.
    Raises k8s.ApiError, or ValueError when the type would have to change.
    """
    collection = k8s.api_path("v1", "secrets", namespace)
    path = k8s.api_path("v1", "secrets", namespace, name)
    for attempt in (1, 2):
        existing = k8s.read(api, path)
        step = decide(existing)
        report = step["report"]
        values = [value for value in report["changes"].values() if value]
        if existing is None:
            body = build_secret(name, namespace, step.get("type") or "Opaque", step.get("labels"),
                                step.get("annotations"), step["data"])
            try:
                api.create(collection, body, dry_run=check_mode)
            except k8s.ApiError as exc:
                if exc.status == 409 and attempt == 1:
                    continue  # created meanwhile: decide again against it
                if not (exc.status == 404 and check_mode):  # else: its namespace comes later in the play
                    raise k8s.ApiError(scrub(str(exc), values), exc.status) from None
            return dict(changed=True, created=True, before={}, after=redacted(body, report["changed_keys"]),
                        step=step)
        before = redacted(existing)
        if not step.get("write", True):
            return dict(changed=False, created=False, before=before, after=before, step=step)
        actual_type = existing.get("type") or "Opaque"
        wanted_type = step.get("type") or "Opaque"
        if actual_type != wanted_type:
            raise ValueError("it has type %s, not %s; the type of a Secret cannot change"
                             % (actual_type, wanted_type))
        meta = metadata_changes(existing.get("metadata"), step.get("labels"), step.get("annotations"))
        patch = build_patch(report["changes"], meta)
        if patch is None:
            return dict(changed=False, created=False, before=before, after=before, step=step)
        try:
            api.merge_patch(path, patch, dry_run=check_mode)
        except k8s.ApiError as exc:
            raise k8s.ApiError(scrub(str(exc), values), exc.status) from None
        after = redacted(k8s.apply_merge_patch(existing, patch), report["changed_keys"])
        return dict(changed=True, created=False, before=before, after=after, step=step)
    raise AssertionError("unreachable")  # pragma: no cover


# ------------------------------------------------------------------ the generated_secret module

HIDDEN_ARG = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def generated_options():
    """The options of the generated_secret module, besides kubernetes.core's connection options."""
    return dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        labels=dict(type="dict", default={}),
        annotations=dict(type="dict", default={}),
        type=dict(type="str", default="Opaque"),
        data=dict(type="dict", default={}, no_log=True),
        generate=dict(
            type="list", elements="dict", default=[], no_log=False,
            options=dict(key=dict(type="str", required=True, no_log=False),
                         length=dict(type="int", default=DEFAULT_LENGTH)),
        ),
    )


def ensure_generated(api, params, check_mode, token_fn=token):
    """Ensure the Secret; return (changed, before, after, report, new data)."""
    generate = normalize_generate(params["generate"])[0]

    def decide(existing):
        decoded = decode_data(existing.get("data")) if existing else None
        data, report = plan(decoded, params["data"] or {}, generate, token_fn)
        return dict(data=data, report=report, type=params["type"], labels=params["labels"],
                    annotations=params["annotations"])

    outcome = ensure(api, params["name"], params["namespace"], decide, check_mode)
    step = outcome["step"]
    return outcome["changed"], outcome["before"], outcome["after"], step["report"], step["data"]


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


def run_module(module):
    """What the generated_secret module does, for ``module`` (an AnsibleModule, or a step of converge)."""
    params = module.params
    inner = getattr(module, "_module", module)
    invocation = unmask_identity(inner, params)

    def fail(msg):
        module.fail_json(msg=msg, invocation=invocation)

    errors = normalize_generate(params["generate"])[1]
    for field in ("name", "namespace", "type"):
        if not params[field]:
            errors.append("%s must not be empty" % field)
    if errors:
        fail("Invalid options: " + "; ".join(errors))

    api = k8s.connect_or_fail(module, invocation=invocation)
    try:
        changed, before, after, report, data = ensure_generated(api, params, module.check_mode)
    except (k8s.ApiError, ValueError) as exc:
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
