"""Validation, pruning and defaulting of objects.

Custom resources follow their CRD's structural schema (openAPIV3Schema), built-in kinds the
offline OpenAPI schemas shipped with the kubernetes-validate package.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field

import jsonschema
from jsonschema import validators

# Fields of ObjectMeta; anything else under a root ``metadata`` is dropped by the decoder.
OBJECT_META_FIELDS = frozenset({
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers", "managedFields",
})


@dataclass
class FieldError:
    """One cause of a 422 Invalid: ``message`` is the full text ``<field>: <body>``."""

    field: str
    reason: str
    message: str

    @property
    def body(self) -> str:
        prefix = self.field + ": "
        return self.message[len(prefix):] if self.field and self.message.startswith(prefix) else self.message


@dataclass
class ValidationResult:
    obj: dict
    errors: list[FieldError] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- messages


def value_text(value) -> str:
    """A bad value as field.Error prints it: strings quoted, numbers/bools plain, rest JSON."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def type_name(value) -> str:
    """JSON type name of a value, as the OpenAPI validator reports it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _path_of(parts) -> str:
    path = ""
    for part in parts:
        path = _join(path, part)
    return path


def _type_error(path: str, value, expected) -> FieldError:
    if isinstance(expected, list):
        expected = ",".join(t for t in expected if t != "null") or "null"
    actual = type_name(value)
    return FieldError(path, "FieldValueTypeInvalid",
                      f'{path}: Invalid value: "{actual}": {path} in body must be of type {expected}: "{actual}"')


def _to_field_error(err: jsonschema.ValidationError) -> list[FieldError]:
    """Translate one jsonschema error into the API server's field errors."""
    path = _path_of(err.absolute_path)
    kind, rule, value = err.validator, err.validator_value, err.instance
    if kind == "type":
        return [_type_error(path, value, rule)]
    if kind == "required":
        missing = [name for name in rule if isinstance(value, dict) and name not in value]
        return [FieldError(_join(path, name), "FieldValueRequired", f"{_join(path, name)}: Required value")
                for name in missing]
    if kind == "enum":
        supported = ", ".join(json.dumps(v if isinstance(v, str) else json.dumps(v))
                              for v in rule if v is not None)
        return [FieldError(path, "FieldValueNotSupported",
                           f"{path}: Unsupported value: {value_text(value)}: supported values: {supported}")]
    if kind == "maxLength":
        return [FieldError(path, "FieldValueTooLong", f"{path}: Too long: may not be longer than {rule}")]
    if kind == "maxItems":
        return [FieldError(path, "FieldValueTooMany",
                           f"{path}: Too many: {len(value)}: must have at most {rule} items")]
    if kind == "maxProperties":
        return [FieldError(path, "FieldValueTooMany",
                           f"{path}: Too many: {len(value)}: must have at most {rule} items")]
    if kind == "uniqueItems":
        return [FieldError(path, "FieldValueDuplicate", f"{path}: Duplicate value: {value_text(value)}")]
    schema = err.schema if isinstance(err.schema, dict) else {}
    detail = {
        "pattern": f"{path} in body should match '{rule}'",
        "minLength": f"{path} in body should be at least {rule} chars long",
        "minItems": f"{path} in body should have at least {rule} items",
        "minProperties": f"{path} in body should have at least {rule} properties",
        "maximum": (f"{path} in body should be less than {rule}" if schema.get("exclusiveMaximum") is True
                    else f"{path} in body should be less than or equal to {rule}"),
        "minimum": (f"{path} in body should be greater than {rule}" if schema.get("exclusiveMinimum") is True
                    else f"{path} in body should be greater than or equal to {rule}"),
        "multipleOf": f"{path} in body should be a multiple of {rule}",
    }.get(kind)
    if kind in ("anyOf", "oneOf") and schema.get("x-int-or-string"):
        return [_type_error(path, value, "integer-or-string")]
    if detail is None:
        detail = err.message
    shown = len(value) if kind == "minItems" and isinstance(value, list) else value
    return [FieldError(path, "FieldValueInvalid", f"{path}: Invalid value: {value_text(shown)}: {detail}")]


def _unique(errors: list[FieldError]) -> list[FieldError]:
    """Errors without repeats, ordered by field path."""
    seen = {(e.field, e.reason, e.message): e for e in errors}
    return sorted(seen.values(), key=lambda e: e.field)


# --------------------------------------------------------------------------- custom resources

_LOCK = threading.Lock()
_CUSTOM_CACHE: dict[int, tuple] = {}  # id(schema) -> (schema, validator)
_CUSTOM_BY_CONTENT: dict[str, object] = {}  # sha256 of the schema -> validator
_ID_CACHE_SIZE = 256


def _is_integer(checker, instance) -> bool:
    return (isinstance(instance, int) and not isinstance(instance, bool)) or (
        isinstance(instance, float) and instance.is_integer())


_Validator = validators.extend(
    validators.Draft4Validator,
    type_checker=validators.Draft4Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def _convert(schema, root: bool = False):
    """OpenAPI v3 (Kubernetes flavour) -> JSON Schema draft 4 for value validation."""
    if isinstance(schema, list):
        return [_convert(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if value is None:  # e.g. "anyOf: null" in generated CRDs means "not set"
            continue
        if key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
            out[key] = {k: _convert(v) for k, v in value.items()
                        if not (root and key == "properties" and k == "metadata")}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _convert(value)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_convert(v) for v in value]
        elif key in ("default", "example", "description", "format", "x-kubernetes-validations"):
            continue
        else:
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        out["x-int-or-string"] = True
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else list(out["type"]) + ["null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = list(out["enum"]) + [None]
    return out


def _custom_validator(schema: dict):
    """Compiled validator of a schema: by identity first, then by content."""
    key = id(schema)
    with _LOCK:
        hit = _CUSTOM_CACHE.get(key)
        if hit is not None and hit[0] is schema:
            return hit[1]
    digest = hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()
    with _LOCK:
        validator = _CUSTOM_BY_CONTENT.get(digest)
    if validator is None:
        validator = _Validator(_convert(schema, root=True))
        with _LOCK:
            _CUSTOM_BY_CONTENT[digest] = validator
    with _LOCK:
        _CUSTOM_CACHE[key] = (schema, validator)  # keeps schema alive so its id stays unique
        while len(_CUSTOM_CACHE) > _ID_CACHE_SIZE:
            _CUSTOM_CACHE.pop(next(iter(_CUSTOM_CACHE)))
    return validator


def _structural(value, schema, path: str, unknown: list, *, root: bool = False, defaults: bool = True):
    """Prune unknown fields, drop non-nullable nulls and apply defaults (apiextensions rules)."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        keep_all = schema.get("x-kubernetes-preserve-unknown-fields") is True or extra is True
        embedded = root or schema.get("x-kubernetes-embedded-resource") is True
        out = {}
        for key, child in value.items():
            cpath = _join(path, key)
            if embedded and key == "metadata":
                out[key] = _object_meta(child, cpath, unknown) if root else child
                continue
            sub = props.get(key) if key in props else (extra if isinstance(extra, dict) else None)
            if sub is None:
                if keep_all or (embedded and key in ("apiVersion", "kind")):
                    out[key] = child
                else:
                    unknown.append(cpath)
                continue
            if child is None and not sub.get("nullable"):
                continue
            out[key] = _structural(child, sub, cpath, unknown, defaults=defaults)
        for key, sub in props.items() if defaults else ():
            if key not in out and isinstance(sub, dict) and "default" in sub:
                if root and key == "metadata":
                    continue
                out[key] = _structural(copy.deepcopy(sub["default"]), sub, _join(path, key), [])
        return out
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            return [_structural(v, items, _join(path, i), unknown, defaults=defaults)
                    for i, v in enumerate(value)]
    return value


def _object_meta(meta, path: str, unknown: list):
    if not isinstance(meta, dict):
        return meta
    out = {}
    for key, value in meta.items():
        if key in OBJECT_META_FIELDS:
            out[key] = value
        else:
            unknown.append(_join(path, key))
    return out


def validate_custom(obj: dict, crd_version: dict, *, partial: bool = False) -> ValidationResult:
    """Prune, default and validate a custom resource against one CRD version.

    ``partial`` (an apply configuration) skips required-field checks and defaulting.
    """
    schema = ((crd_version or {}).get("schema") or {}).get("openAPIV3Schema")
    if not isinstance(schema, dict):
        return ValidationResult(copy.deepcopy(obj), [], [])
    unknown: list[str] = []
    pruned = _structural(copy.deepcopy(obj), schema, "", unknown, root=True, defaults=not partial)
    errors: list[FieldError] = []
    for err in _custom_validator(schema).iter_errors(pruned):
        if partial and err.validator == "required":
            continue
        errors.extend(_to_field_error(err))
    return ValidationResult(pruned, _unique(errors), unknown)


# --------------------------------------------------------------------------- built-in kinds

_BUILTIN_CACHE: dict[tuple, object] = {}
_DEFS_CACHE: dict[str, object] = {}


def _schema_dir(kubernetes_version: str) -> str | None:
    import kubernetes_validate.utils as kv

    wanted = kv.major_minor(kubernetes_version.lstrip("v"))
    versions = [v for v in kv.all_versions() if _vkey(kv.major_minor(v)) <= _vkey(wanted)]
    if not versions:
        return None
    return f"v{versions[-1]}-local-strict"


def _vkey(version: str) -> tuple:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:2])


def _builtin_validator(api_version: str, kind: str, kubernetes_version: str):
    key = (api_version, kind, kubernetes_version)
    with _LOCK:
        if key in _BUILTIN_CACHE:
            return _BUILTIN_CACHE[key]
    import kubernetes_validate.utils as kv
    from referencing import Registry, Resource

    folder = _schema_dir(kubernetes_version)
    validator = None
    if folder is not None:
        short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        try:
            schema = kv.schema_contents(f"kubernetes-json-schema/{folder}/{kind.lower()}-{short}.json",
                                        kubernetes_version)
        except (FileNotFoundError, kv.VersionNotSupportedError):
            schema = None
        if schema is not None:
            with _LOCK:
                defs = _DEFS_CACHE.get(folder)
            if defs is None:
                defs = Resource.from_contents(
                    kv.schema_contents(f"kubernetes-json-schema/{folder}/_definitions.json", kubernetes_version))
                with _LOCK:
                    _DEFS_CACHE[folder] = defs
            registry = Resource.from_contents(schema) @ (defs @ Registry())
            validator = validators.Draft202012Validator(schema, registry=registry)
    with _LOCK:
        _BUILTIN_CACHE[key] = validator
    return validator


def _drop(obj: dict, parts: list) -> None:
    cur = obj
    for part in parts[:-1]:
        cur = cur[part]
    if isinstance(cur, dict):
        cur.pop(parts[-1], None)


def validate_builtin(obj: dict, *, kubernetes_version: str = "1.29", partial: bool = False) -> ValidationResult:
    """Validate a built-in object; unknown fields are reported and pruned like the decoder drops them."""
    result = copy.deepcopy(obj)
    validator = _builtin_validator(obj.get("apiVersion", ""), obj.get("kind", ""), kubernetes_version)
    if validator is None:
        return ValidationResult(result, [], [])
    unknown: list[str] = []
    errors: list[FieldError] = []
    drops: list[list] = []
    for err in validator.iter_errors(obj):
        if err.validator == "additionalProperties" and err.validator_value is False:
            allowed = set((err.schema or {}).get("properties") or {})
            for name in err.instance:
                if name not in allowed:
                    parts = list(err.absolute_path) + [name]
                    unknown.append(_path_of(parts))
                    drops.append(parts)
            continue
        if partial and err.validator == "required":
            continue
        if err.validator in ("oneOf", "anyOf"):
            expected = _one_of_types(err.schema)
            errors.append(_type_error(_path_of(err.absolute_path), err.instance, expected))
            continue
        errors.extend(_to_field_error(err))
    for parts in sorted(drops, key=len, reverse=True):
        _drop(result, parts)
    return ValidationResult(result, _unique(errors), list(dict.fromkeys(unknown)))


def _one_of_types(schema) -> str:
    names = []
    for sub in (schema or {}).get("oneOf") or (schema or {}).get("anyOf") or []:
        t = sub.get("type") if isinstance(sub, dict) else None
        for name in (t if isinstance(t, list) else [t]):
            if name and name != "null" and name not in names:
                names.append(name)
    return "-or-".join(names) or "object"
