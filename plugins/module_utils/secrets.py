# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pure helpers for Secrets that hold given and generated values.

Nothing here talks to the cluster. ``plan`` decides the new data,
``build_secret``/``build_patch`` turn the decision into a request body and
``redacted`` makes the diff. Values never reach a report: reports carry key
names only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import secrets
import string

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
    """key: text -> Secret ``data`` (base64)."""
    return {key: base64.b64encode(value.encode("utf-8")).decode("ascii") for key, value in data.items()}


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


def plan(existing, given, generate, token_fn=token):
    """Decide the Secret's data.

    ``existing``: decoded data of the Secret, or None when there is none.
    ``given``: key -> value from the caller; it always wins, except that an
    empty value for a key listed in ``generate`` counts as not given.
    ``generate``: list of (key, length); a value is generated when the key is
    absent or empty in ``existing`` (and not given), and kept afterwards.
    Keys of ``existing`` that are not mentioned are kept.

    Returns (data, report): the full new data and a dict with ``changes``
    (key -> new value, only the keys whose value differs), ``generated`` and
    ``changed_keys`` (sorted key names).
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
    changes = {key: value for key, value in data.items() if current.get(key) != value or key not in current}
    report = {"changes": changes, "generated": sorted(generated), "changed_keys": sorted(changes)}
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


def merged(existing, patch):
    """The object after a merge patch (two levels deep is enough for a Secret)."""
    out = dict(existing or {})
    for field, value in (patch or {}).items():
        if isinstance(value, dict):
            inner = dict(out.get(field) or {})
            for key, item in value.items():
                if isinstance(item, dict):
                    inner[key] = dict(inner.get(key) or {}, **item)
                else:
                    inner[key] = item
            out[field] = inner
        else:
            out[field] = value
    return out


def scrub(text, values):
    """``text`` with every value of ``values`` (non-empty) masked."""
    for value in values:
        if value:
            text = text.replace(value, "********")
    return text
