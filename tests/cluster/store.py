"""In-process API of the test cluster: objects, rules and events, shared by HTTP and controllers."""

from __future__ import annotations

import base64
import functools
import random
import re
import threading
import time
import uuid
from collections import deque
from typing import Callable

from . import errors
from .config import ClusterConfig
from .errors import ApiError, TryGet
from .resources import (BUILTIN_TYPES, GENERATION_SPEC, GENERATION_SPEC_ANNOTATIONS, NOT_STORED,
                        ResourceType, crd_resource_types, crd_version, storage_version, version_priority)

try:  # the patch and validation algorithms live in their own modules
    from . import patch as _patch
except ImportError:  # pragma: no cover
    _patch = None
try:
    from . import validation as _validation
except ImportError:  # pragma: no cover
    _validation = None

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
HISTORY = 4000
META_ORDER = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
              "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
              "finalizers", "managedFields")


def clone(value):
    """Fast deep copy of JSON-compatible data."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def split_api_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


def kubernetes_version(config: ClusterConfig) -> str:
    """Kubernetes version served: derived from the OpenShift version on the openshift profile."""
    if config.profile == "openshift":
        parts = config.openshift_version.split(".")
        try:
            minor = int(parts[1]) + 13
        except (IndexError, ValueError):
            return config.kubernetes_version
        patch = config.kubernetes_version.split(".")[2] if config.kubernetes_version.count(".") >= 2 else "0"
        return f"1.{minor}.{patch}"
    return config.kubernetes_version


# ----------------------------------------------------------------------------------------- selectors

def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(selector: str | None) -> list[tuple[str, str, tuple]]:
    """Requirements (key, op, values) with op in =, !=, in, notin, exists, !exists."""
    reqs = []
    for part in _split_top(selector or ""):
        lowered = part.replace("\t", " ")
        if " notin " in lowered or " in " in lowered:
            op = "notin" if " notin " in lowered else "in"
            key, rest = lowered.split(f" {op} ", 1)
            rest = rest.strip()
            if not (rest.startswith("(") and rest.endswith(")")):
                raise errors.bad_request(f"unable to parse requirement: found '{rest}', expected: '('")
            values = tuple(v.strip() for v in rest[1:-1].split(",") if v.strip())
            reqs.append((key.strip(), op, values))
        elif "!=" in part:
            key, value = part.split("!=", 1)
            reqs.append((key.strip(), "!=", (value.strip(),)))
        elif "==" in part:
            key, value = part.split("==", 1)
            reqs.append((key.strip(), "=", (value.strip(),)))
        elif "=" in part:
            key, value = part.split("=", 1)
            reqs.append((key.strip(), "=", (value.strip(),)))
        elif part.startswith("!"):
            reqs.append((part[1:].strip(), "!exists", ()))
        else:
            reqs.append((part, "exists", ()))
    return reqs


def labels_match(labels: dict, reqs) -> bool:
    for key, op, values in reqs:
        present = key in labels
        value = labels.get(key)
        if op == "=" and value != values[0]:
            return False
        if op == "!=" and value == values[0]:
            return False
        if op == "in" and (not present or value not in values):
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


def parse_field_selector(selector: str | None) -> list[tuple[str, str, str]]:
    reqs = []
    for part in _split_top(selector or ""):
        for op in ("!=", "==", "="):
            if op in part:
                key, value = part.split(op, 1)
                reqs.append((key.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise errors.bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")
    return reqs


def _lookup(obj: dict, path: str):
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def fields_match(obj: dict, reqs) -> bool:
    for key, op, value in reqs:
        actual = _lookup(obj, key)
        actual = "" if actual is None else str(actual).lower() if isinstance(actual, bool) else str(actual)
        if (actual == value) != (op == "="):
            return False
    return True


# ----------------------------------------------------------------------------------------- defaults

def _image_pull_policy(image: str) -> str:
    tail = (image or "").rsplit("/", 1)[-1]
    if "@" in tail:
        return "IfNotPresent"
    if ":" not in tail or tail.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def _default_pod_spec(spec: dict) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if not isinstance(c, dict):
                continue
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("imagePullPolicy", _image_pull_policy(c.get("image", "")))
            c.setdefault("resources", {})
            for port in c.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")


def _default_template(spec: dict) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        template.setdefault("metadata", {})
        if "creationTimestamp" not in template["metadata"]:
            template["metadata"]["creationTimestamp"] = None
        if isinstance(template.get("spec"), dict):
            _default_pod_spec(template["spec"])


def apply_defaults(group: str, kind: str, obj: dict) -> None:
    """Defaulting of built-in kinds (the subset that waiters and idempotence depend on)."""
    spec = obj.get("spec")
    if kind == "Deployment" and group == "apps" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        _default_template(spec)
    elif kind == "StatefulSet" and group == "apps" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("persistentVolumeClaimRetentionPolicy",
                        {"whenDeleted": "Retain", "whenScaled": "Retain"})
        for pvc in spec.get("volumeClaimTemplates") or []:
            if isinstance(pvc, dict):
                pvc.setdefault("apiVersion", "v1")
                pvc.setdefault("kind", "PersistentVolumeClaim")
                pvc.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
                pvc.setdefault("status", {"phase": "Pending"})
        _default_template(spec)
    elif kind == "ReplicaSet" and group == "apps" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        _default_template(spec)
    elif kind == "Job" and group == "batch" and isinstance(spec, dict):
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        _default_template(spec)
    elif kind == "Pod" and group == "" and isinstance(spec, dict):
        _default_pod_spec(spec)
        spec.setdefault("enableServiceLinks", True)
    elif kind == "Service" and group == "" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])
        if spec.get("type") != "ExternalName":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
    elif kind == "PersistentVolumeClaim" and group == "" and isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
    elif kind == "Secret" and group == "":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if string_data:
            data = obj.get("data") or {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data
    elif kind == "Namespace" and group == "":
        labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")


# ----------------------------------------------------------------------------------------- Go decoding

@functools.lru_cache(maxsize=None)
def _builtin_schema(api_version: str, kind: str, kube_minor: str) -> tuple[dict, dict] | None:
    """(root schema, definitions) of a built-in kind from the kubernetes-validate package."""
    try:
        import kubernetes_validate.utils as kv
    except ImportError:  # pragma: no cover
        return None

    def key(v: str) -> tuple:
        return tuple(int(p) for p in re.findall(r"\d+", v)[:2])

    versions = [v for v in kv.all_versions() if key(v) <= key(kube_minor)]
    if not versions:
        return None
    folder = f"kubernetes-json-schema/v{versions[-1]}-local-strict"
    short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        root = kv.schema_contents(f"{folder}/{kind.lower()}-{short}.json", kube_minor)
        defs = kv.schema_contents(f"{folder}/_definitions.json", kube_minor)
    except Exception:  # noqa: BLE001 - unknown kind or version: no Go type names
        return None
    return root, defs.get("$defs") or defs.get("definitions") or {}


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "value")


_SCHEMA_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int,
                 "number": (int, float)}


def _type_ok(value, types: list[str]) -> bool:
    if value is None or not types:
        return True
    for t in types:
        want = _SCHEMA_TYPES.get(t)
        if want is None:
            return True
        if isinstance(value, bool) and t != "boolean":
            continue
        if isinstance(value, want):
            return True
    return False


def _go_type(schema: dict, defs: dict) -> str:
    ref = schema.get("$ref", "")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name.endswith("intstr.IntOrString"):
            return "int32"
        parts = name.split(".")
        return f"{parts[-2]}.{parts[-1]}"
    types = [t for t in (schema.get("type") or []) if t != "null"]
    if isinstance(schema.get("type"), str):
        types = [schema["type"]]
    t = types[0] if types else ""
    if t == "integer":
        return schema.get("format") or "int64"
    if t == "number":
        return "float64"
    if t == "boolean":
        return "bool"
    if t == "array":
        return "[]" + _go_type(schema.get("items") or {}, defs)
    if t == "object":
        ap = schema.get("additionalProperties")
        return "map[string]" + (_go_type(ap, defs) if isinstance(ap, dict) else "interface {}")
    return t or "interface {}"


def _first_type_error(value, schema: dict, defs: dict, struct: str, fields: list):
    """(json type, struct, field path, Go type) of the first mismatch in document order, as Go reports it."""
    node = schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        node = defs.get(name) or {}
        if name.endswith("intstr.IntOrString"):
            ok = value is None or (isinstance(value, (str, int)) and not isinstance(value, bool))
            return None if ok else (_json_type(value), struct, fields, "int32")
    types = node.get("type") or []
    types = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    if not _type_ok(value, types):
        return _json_type(value), struct, fields, _go_type(schema if "$ref" in schema else node, defs)
    if isinstance(value, dict):
        props = node.get("properties")
        if props is not None:
            inner = schema["$ref"].rsplit(".", 1)[-1] if "$ref" in schema else struct
            for key, item in value.items():
                if key in props:
                    found = _first_type_error(item, props[key], defs, inner, fields + [key])
                    if found:
                        return found
        elif isinstance(node.get("additionalProperties"), dict):
            for item in value.values():
                found = _first_type_error(item, node["additionalProperties"], defs, struct, fields)
                if found:
                    return found
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for item in value:
            found = _first_type_error(item, node["items"], defs, struct, fields)
            if found:
                return found
    return None


def go_decode_error(obj: dict, rt: ResourceType, kube_minor: str, field_errors) -> str:
    """The encoding/json error a real server reports for a built-in object with a wrongly typed field."""
    schemas = _builtin_schema(rt.api_version, rt.kind, kube_minor)
    found = _first_type_error(obj, schemas[0], schemas[1], rt.kind, []) if schemas else None
    if found:
        jtype, struct, fields, gotype = found[0], found[1], found[2], found[3]
        return f"json: cannot unmarshal {jtype} into Go struct field {struct}.{'.'.join(fields)} of type {gotype}"
    first = next(e for e in field_errors if e.reason == "FieldValueTypeInvalid")
    return f"json: cannot unmarshal value into Go struct field {rt.kind}.{first.field}"


# ----------------------------------------------------------------------------------------- store

class Store(TryGet):
    """Thread-safe object store with the semantics of the Kubernetes API server."""

    def __init__(self, config: ClusterConfig):
        self.config = config
        self._lock = threading.RLock()
        self._rv = 0
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._objects: dict[tuple[str, str], dict[tuple[str, str], dict]] = {}
        self._crds: dict[tuple[str, str], dict] = {}  # (group, plural) -> CRD object
        self._virtual: dict[tuple[str, str, str], tuple[Callable, Callable]] = {}
        self._subscribers: list[Callable[[str, dict], None]] = []
        self._history: deque = deque(maxlen=HISTORY)
        self._history_floor = 0
        self._local = threading.local()
        self._rand = random.Random()
        self._cluster_ips = 0
        self._kube_minor = ".".join(kubernetes_version(config).split(".")[:2])
        for rt in BUILTIN_TYPES:
            self._types[(rt.group, rt.version, rt.plural)] = rt

    # ---------------------------------------------------------------- types

    def resource(self, api_version: str, kind: str) -> ResourceType:
        group, version = split_api_version(api_version or "")
        with self._lock:
            for rt in self._types.values():
                if rt.group == group and rt.version == version and rt.kind == kind:
                    return rt
        raise ApiError(404, "NotFound", f'the server could not find the requested resource '
                       f'(no kind "{kind}" is registered for version "{api_version}")')

    def resource_by_plural(self, group: str, version: str, plural: str) -> ResourceType:
        with self._lock:
            rt = self._types.get((group, version, plural))
        if rt is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return rt

    def resource_types(self) -> list[ResourceType]:
        with self._lock:
            return list(self._types.values())

    def group_versions(self) -> dict[str, list[str]]:
        """Group -> versions in priority order (legacy group "" included)."""
        with self._lock:
            groups: dict[str, list[str]] = {}
            for rt in self._types.values():
                versions = groups.setdefault(rt.group, [])
                if rt.version not in versions:
                    versions.append(rt.version)
        return {g: sorted(v, key=version_priority) for g, v in groups.items()}

    def register_virtual(self, rt: ResourceType, get: Callable[[str, str | None], dict | None],
                         list_: Callable[[str | None], list[dict]]) -> None:
        with self._lock:
            self._types[(rt.group, rt.version, rt.plural)] = rt
            self._virtual[(rt.group, rt.version, rt.plural)] = (get, list_)

    # ---------------------------------------------------------------- events

    def subscribe(self, callback: Callable[[str, dict], None]) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[str, dict], None]) -> None:
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def resource_version(self) -> str:
        with self._lock:
            return str(self._rv)

    def events_since(self, resource_version: int) -> list[tuple[str, dict]] | None:
        """Events after a resourceVersion, or None when the history no longer reaches back."""
        with self._lock:
            if resource_version < self._history_floor:
                return None
            return [(etype, clone(obj)) for rv, etype, obj in self._history if rv > resource_version]

    def _emit(self, etype: str, obj: dict) -> None:
        rv = int(obj["metadata"].get("resourceVersion") or self._rv)
        if len(self._history) == self._history.maxlen:
            self._history_floor = self._history[0][0]
        self._history.append((rv, etype, clone(obj)))
        for callback in list(self._subscribers):
            try:
                callback(etype, clone(obj))
            except Exception:  # a broken subscriber must not break writes
                pass

    def warnings(self) -> list[str]:
        """Warnings of the current thread's last calls (taken, i.e. cleared)."""
        out = getattr(self._local, "warnings", [])
        self._local.warnings = []
        return out

    def created(self) -> bool:
        """Whether the current thread's last apply created the object (taken)."""
        out = getattr(self._local, "created", False)
        self._local.created = False
        return out

    def _warn(self, text: str) -> None:
        if not hasattr(self._local, "warnings"):
            self._local.warnings = []
        self._local.warnings.append(text)

    # ---------------------------------------------------------------- helpers

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _bucket(self, rt: ResourceType) -> dict:
        return self._objects.setdefault((rt.group, rt.plural), {})

    def _key(self, rt: ResourceType, name: str, namespace: str | None) -> tuple[str, str]:
        return ((namespace or "") if rt.namespaced else "", name)

    def _out(self, rt: ResourceType, obj: dict) -> dict:
        out = clone(obj)
        out["apiVersion"] = rt.api_version
        out["kind"] = rt.kind
        meta = out.get("metadata")
        if meta:
            ordered = {k: meta[k] for k in META_ORDER if k in meta}
            if len(ordered) != len(meta):
                ordered.update({k: v for k, v in meta.items() if k not in ordered})
            out["metadata"] = ordered
        return out

    def _not_found(self, rt: ResourceType, name: str) -> ApiError:
        return errors.not_found(rt.plural, rt.group, name)

    def _check_writable(self, rt: ResourceType, verb: str) -> None:
        if (rt.group, rt.version, rt.plural) in self._virtual or verb not in rt.verbs:
            raise errors.method_not_allowed(verb, rt.plural, rt.group)

    def _has_status_subresource(self, rt: ResourceType) -> bool:
        return "status" in rt.subresources

    def _validate(self, rt: ResourceType, obj: dict, field_validation: str, op: str,
                  partial: bool = False) -> dict:
        """Schema validation and pruning; unknown fields handled per fieldValidation.

        ``partial``: an apply body (no defaulting, no required-field checks).
        """
        if rt.builtin:
            if _validation is None:
                return obj
            result = _validation.validate_builtin(obj, kubernetes_version=self._kube_minor, partial=partial)
        else:
            crd = self._crds.get((rt.group, rt.plural))
            ver = crd_version(crd, rt.version) if crd else None
            if _validation is None or ver is None:
                return obj
            result = _validation.validate_custom(obj, ver, partial=partial)
        name = obj.get("metadata", {}).get("name", "")
        if rt.builtin and op in ("create", "update", "patch") and any(
                e.reason == "FieldValueTypeInvalid" for e in result.errors):
            # the real server fails to decode the JSON into the Go type before any validation runs
            text = go_decode_error(obj, rt, self._kube_minor, result.errors)
            if op == "patch":
                raise errors.invalid("", "", "", [{
                    "reason": "FieldValueInvalid", "field": "patch",
                    "message": f'patch: Invalid value: "{_short_json(obj)}": {text}'}])
            raise errors.bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {text}')
        unknown = list(result.unknown_fields or [])
        if unknown and field_validation == "Strict":
            texts = ", ".join(f'unknown field "{u}"' for u in unknown)
            if op == "patch":
                raise errors.invalid("", "", "", [{
                    "reason": "FieldValueInvalid", "field": "patch",
                    "message": f'patch: Invalid value: "{_short_json(obj)}": strict decoding error: {texts}'}])
            if op == "apply":
                raise errors.bad_request(f"error strict decoding patch: {texts}")
            raise errors.bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a '
                                     f'{rt.kind}: strict decoding error: {texts}')
        if unknown and field_validation != "Ignore":
            for u in unknown:
                self._warn(f'unknown field "{u}"')
        if result.errors:
            raise errors.invalid(rt.kind, rt.group, name, [
                {"reason": e.reason, "message": e.message, "field": e.field} for e in result.errors])
        return result.obj

    def _namespace_check(self, rt: ResourceType, obj: dict, namespace: str | None) -> None:
        if not rt.namespaced:
            return
        ns = self._objects.get(("", "namespaces"), {}).get(("", namespace))
        if ns is None:
            raise errors.not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp") or ns.get("status", {}).get("phase") == "Terminating":
            name = obj["metadata"].get("name", "")
            raise errors.forbidden(
                rt.plural, rt.group, name,
                f"unable to create new content in namespace {namespace} because it is being terminated",
                causes=[{"reason": "NamespaceTerminating", "message": f"namespace {namespace} is being terminated",
                         "field": "metadata.namespace"}])

    def _generation_applies(self, rt: ResourceType) -> bool:
        key = (rt.group, rt.kind)
        return (not rt.builtin) or key in GENERATION_SPEC or key in GENERATION_SPEC_ANNOTATIONS

    def _generation_changed(self, rt: ResourceType, old: dict, new: dict) -> bool:
        key = (rt.group, rt.kind)
        if not rt.builtin:
            skip = {"metadata", "apiVersion", "kind"}
            if self._has_status_subresource(rt):
                skip.add("status")
            keys = (set(old) | set(new)) - skip
            return any(old.get(k) != new.get(k) for k in keys)
        if key in GENERATION_SPEC_ANNOTATIONS:
            return (old.get("spec") != new.get("spec")
                    or old["metadata"].get("annotations") != new["metadata"].get("annotations"))
        if key in GENERATION_SPEC:
            return old.get("spec") != new.get("spec")
        return False

    def _initial_status(self, rt: ResourceType, obj: dict) -> None:
        key = (rt.group, rt.kind)
        if not rt.builtin:
            if self._has_status_subresource(rt):
                obj.pop("status", None)
            return
        if key == ("apps", "Deployment") or key == ("batch", "Job"):
            obj["status"] = {}
        elif key == ("apps", "StatefulSet"):
            obj["status"] = {"replicas": 0, "availableReplicas": 0}
        elif key == ("apps", "ReplicaSet"):
            obj["status"] = {"replicas": 0}
        elif key == ("", "Pod"):
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif key == ("", "Service"):
            obj["status"] = {"loadBalancer": {}}
        elif key == ("", "PersistentVolumeClaim"):
            obj["status"] = {"phase": "Pending"}
        elif key == ("", "Namespace"):
            obj["status"] = {"phase": "Active"}
            fins = obj.setdefault("spec", {}).setdefault("finalizers", [])
            if "kubernetes" not in fins:
                fins.append("kubernetes")

    def _server_fields_on_create(self, rt: ResourceType, obj: dict) -> None:
        key = (rt.group, rt.kind)
        spec = obj.get("spec")
        if key == ("", "Service") and isinstance(spec, dict) and spec.get("type") != "ExternalName":
            if not spec.get("clusterIP"):
                self._cluster_ips += 1
                n = self._cluster_ips
                spec["clusterIP"] = f"172.30.{(n // 250) % 250}.{n % 250 + 1}"
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        elif key == ("", "PersistentVolumeClaim") and isinstance(spec, dict):
            if "storageClassName" not in spec:
                for sc in self._objects.get(("storage.k8s.io", "storageclasses"), {}).values():
                    ann = sc["metadata"].get("annotations") or {}
                    if ann.get("storageclass.kubernetes.io/is-default-class") == "true":
                        spec["storageClassName"] = sc["metadata"]["name"]
                        break

    def _track(self, old: dict | None, new: dict, rt: ResourceType, manager: str,
               subresource: str | None) -> None:
        if _patch is None:
            return
        mf = _patch.track_update(old, new, manager=manager, api_version=rt.api_version,
                                 subresource=subresource, now=now_rfc3339())
        if mf:
            new["metadata"]["managedFields"] = mf
        else:
            new["metadata"].pop("managedFields", None)

    # ---------------------------------------------------------------- CRDs

    def _prepare_crd(self, crd: dict) -> None:
        spec = crd.get("spec") or {}
        names = dict(spec.get("names") or {})
        if not names.get("kind") or not names.get("plural") or not spec.get("group"):
            raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io",
                                 crd["metadata"].get("name", ""), [{
                                     "reason": "FieldValueRequired", "field": "spec.names.plural",
                                     "message": "spec.names.plural: Required value"}])
        expected = f'{names["plural"]}.{spec["group"]}'
        if crd["metadata"].get("name") != expected:
            raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io", crd["metadata"].get("name", ""), [{
                "reason": "FieldValueInvalid", "field": "metadata.name",
                "message": f'metadata.name: Invalid value: "{crd["metadata"].get("name", "")}": '
                           f'must be spec.names.plural+"."+spec.group'}])
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
        spec["names"] = names
        spec.setdefault("scope", "Namespaced")
        spec.setdefault("conversion", {"strategy": "None"})
        status = crd.get("status") or {}
        ts = now_rfc3339()
        have = {c.get("type"): c for c in status.get("conditions") or []}
        for c in have.values():
            if c.get("type") in ("NamesAccepted", "Established") and c.get("status") == "True":
                ts = c.get("lastTransitionTime") or ts
        status["conditions"] = [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": ts,
             "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": ts,
             "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
        ]
        status["acceptedNames"] = dict(names)
        stored = list(status.get("storedVersions") or [])
        sv = storage_version(crd)
        if sv not in stored:
            stored.append(sv)
        status["storedVersions"] = stored
        crd["status"] = status

    def _register_crd(self, crd: dict) -> None:
        spec = crd["spec"]
        gr = (spec["group"], spec["names"]["plural"])
        for key in [k for k, rt in self._types.items() if (rt.group, rt.plural) == gr and not rt.builtin]:
            del self._types[key]
        for rt in crd_resource_types(crd):
            self._types[(rt.group, rt.version, rt.plural)] = rt
        self._crds[gr] = crd

    def _unregister_crd(self, crd: dict) -> None:
        spec = crd["spec"]
        gr = (spec["group"], spec["names"]["plural"])
        for key in [k for k, rt in self._types.items() if (rt.group, rt.plural) == gr and not rt.builtin]:
            del self._types[key]
        self._crds.pop(gr, None)
        self._objects.pop(gr, None)

    def _crd_terminating(self, rt: ResourceType) -> bool:
        crd = self._crds.get((rt.group, rt.plural))
        return bool(crd and crd["metadata"].get("deletionTimestamp"))

    # ---------------------------------------------------------------- reads

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict:
        rt = self.resource(api_version, kind)
        return self._get(rt, name, namespace)

    def _get(self, rt: ResourceType, name: str, namespace: str | None) -> dict:
        with self._lock:
            virt = self._virtual.get((rt.group, rt.version, rt.plural))
            if virt:
                obj = virt[0](name, namespace if rt.namespaced else None)
                if obj is None:
                    raise self._not_found(rt, name)
                return clone(obj)
            obj = self._bucket(rt).get(self._key(rt, name, namespace))
            if obj is None:
                raise self._not_found(rt, name)
            return self._out(rt, obj)

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None, field_selector: str | None = None) -> list[dict]:
        rt = self.resource(api_version, kind)
        return self.list_resource(rt, namespace, label_selector, field_selector)[0]

    def list_resource(self, rt: ResourceType, namespace: str | None = None, label_selector: str | None = None,
                      field_selector: str | None = None) -> tuple[list[dict], str]:
        """Items (with apiVersion/kind) and the list resourceVersion."""
        lreqs = parse_label_selector(label_selector)
        freqs = parse_field_selector(field_selector)
        with self._lock:
            virt = self._virtual.get((rt.group, rt.version, rt.plural))
            if virt:
                source = [clone(o) for o in virt[1](namespace if rt.namespaced else None)]
            else:
                source = [obj for (ns, _name), obj in sorted(self._bucket(rt).items())
                          if not (rt.namespaced and namespace) or ns == namespace]
            out = []
            for obj in source:
                meta = obj.get("metadata", {})
                if lreqs and not labels_match(meta.get("labels") or {}, lreqs):
                    continue
                if freqs and not fields_match(obj, freqs):
                    continue
                out.append(obj if virt else self._out(rt, obj))
            return out, str(self._rv)

    def stored_types(self) -> list[ResourceType]:
        """One ResourceType per stored (group, plural): no virtual APIs, no unstored kinds."""
        with self._lock:
            seen, out = set(), []
            for key, rt in self._types.items():
                gr = (rt.group, rt.plural)
                if key in self._virtual or gr in NOT_STORED or gr in seen:
                    continue
                seen.add(gr)
                out.append(rt)
            return out

    def metadata_index(self) -> list[tuple[ResourceType, dict]]:
        """(type, copy of metadata) for every stored object: a cheap snapshot for controllers."""
        with self._lock:
            out = []
            for rt in self.stored_types():
                for obj in self._bucket(rt).values():
                    out.append((rt, clone(obj["metadata"])))
            return out

    def count(self, rt: ResourceType, namespace: str | None = None) -> int:
        with self._lock:
            return sum(1 for (ns, _name) in self._bucket(rt) if not namespace or ns == namespace)

    # ---------------------------------------------------------------- create

    def create(self, obj: dict, *, manager: str, dry_run: bool = False, field_validation: str = "Warn") -> dict:
        if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
            raise errors.bad_request("Object 'Kind' is missing in the request body" if isinstance(obj, dict)
                                     else "the body of the request is not an object")
        rt = self.resource(obj["apiVersion"], obj["kind"])
        return self._create(rt, clone(obj), manager=manager, dry_run=dry_run, field_validation=field_validation)

    def _create(self, rt: ResourceType, obj: dict, *, manager: str, dry_run: bool, field_validation: str,
                applied: bool = False, op: str = "create") -> dict:
        with self._lock:
            self._check_writable(rt, "create")
            if (rt.group, rt.plural) in NOT_STORED:
                obj.setdefault("metadata", {})
                obj.setdefault("status", {"allowed": True})
                return obj
            if not rt.builtin and self._crd_terminating(rt):
                raise ApiError(405, "MethodNotAllowed",
                               "create not allowed while custom resource definition is terminating")
            meta = obj.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise errors.bad_request("metadata must be an object")
            if meta.get("resourceVersion"):
                raise ApiError(500, "", "resourceVersion should not be set on objects to be created")
            obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            if not rt.namespaced:
                meta.pop("namespace", None)
            namespace = meta.get("namespace") if rt.namespaced else None
            if rt.namespaced and not namespace:
                raise errors.bad_request("the server could not find the requested resource: namespace is required")
            obj = self._validate(rt, obj, field_validation, op)
            meta = obj["metadata"]
            if not meta.get("name"):
                base = meta.get("generateName")
                if not base:
                    raise errors.invalid(rt.kind, rt.group, "", [{
                        "reason": "FieldValueRequired", "field": "metadata.name",
                        "message": "metadata.name: Required value: name or generateName is required"}])
                for dummy in range(8):
                    candidate = base[:58] + "".join(self._rand.choice(NAME_CHARS) for dummy in range(5))
                    if self._key(rt, candidate, namespace) not in self._bucket(rt):
                        break
                else:
                    exc = errors.already_exists(rt.plural, rt.group, candidate)
                    exc.message += ", the server was not able to generate a unique name for the object"
                    exc.details["retryAfterSeconds"] = 1
                    exc.headers["Retry-After"] = "1"
                    raise exc
                meta["name"] = candidate
            name = meta["name"]
            self._namespace_check(rt, obj, namespace)
            for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                          "selfLink", "generation"):
                meta.pop(field, None)
            if not applied:
                meta.pop("managedFields", None)
            apply_defaults(rt.group, rt.kind, obj)
            if not (rt.group == "" and rt.kind == "Node"):
                self._initial_status(rt, obj)
            self._server_fields_on_create(rt, obj)
            if rt.group == "apiextensions.k8s.io" and rt.kind == "CustomResourceDefinition":
                self._prepare_crd(obj)
            existing = self._bucket(rt).get(self._key(rt, name, namespace))
            if existing is not None:
                raise errors.already_exists(rt.plural, rt.group, name,
                                            deleting=bool(existing["metadata"].get("deletionTimestamp")))
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if self._generation_applies(rt):
                meta["generation"] = 1
            if not applied:
                self._track(None, obj, rt, manager, None)
            obj = _order(obj)
            if dry_run:
                return self._out(rt, obj)
            meta["resourceVersion"] = self._next_rv()
            self._bucket(rt)[self._key(rt, name, namespace)] = obj
            if rt.group == "apiextensions.k8s.io" and rt.kind == "CustomResourceDefinition":
                self._register_crd(obj)
            self._emit("ADDED", self._out(rt, obj))
            return self._out(rt, obj)

    # ---------------------------------------------------------------- update / patch

    def update(self, obj: dict, *, manager: str, subresource: str | None = None, dry_run: bool = False,
               field_validation: str = "Warn") -> dict:
        if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
            raise errors.bad_request("Object 'Kind' is missing in the request body")
        rt = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        with self._lock:
            self._check_writable(rt, "update")
            old = self._bucket(rt).get(self._key(rt, meta.get("name", ""), meta.get("namespace")))
            if old is None:
                raise self._not_found(rt, meta.get("name", ""))
            rv = meta.get("resourceVersion")
            if rv:
                if rv != old["metadata"]["resourceVersion"]:
                    raise errors.conflict(rt.plural, rt.group, meta["name"])
            elif not rt.builtin:
                raise errors.invalid(rt.plural, rt.group, meta["name"], [{
                    "reason": "FieldValueInvalid", "field": "metadata.resourceVersion",
                    "message": "metadata.resourceVersion: Invalid value: 0: must be specified for an update"}])
            new = self._validate(rt, clone(obj), field_validation, "update")
            return self._write(rt, old, new, manager=manager, subresource=subresource, dry_run=dry_run)

    def patch(self, api_version: str, kind: str, name: str, namespace: str | None, body, *, patch_type: str,
              manager: str, force: bool = False, subresource: str | None = None, dry_run: bool = False,
              field_validation: str = "Warn") -> dict:
        rt = self.resource(api_version, kind)
        if force and patch_type != "apply":
            raise errors.invalid("PatchOptions", "meta.k8s.io", "", [{
                "reason": "FieldValueForbidden", "field": "force",
                "message": "force: Forbidden: may not be specified for non-apply patch"}])
        if patch_type == "apply" and not manager:
            raise errors.invalid("PatchOptions", "meta.k8s.io", "", [{
                "reason": "FieldValueRequired", "field": "fieldManager",
                "message": "fieldManager: Required value: is required for apply patch"}])
        if patch_type == "strategic" and not rt.builtin:
            raise errors.unsupported_media_type(["application/json-patch+json", "application/merge-patch+json",
                                                 "application/apply-patch+yaml"])
        with self._lock:
            self._check_writable(rt, "patch")
            namespace = namespace if rt.namespaced else None
            old = self._bucket(rt).get(self._key(rt, name, namespace))
            if patch_type == "apply":
                return self._apply(rt, old, body, name, namespace, manager=manager, force=force,
                                   subresource=subresource, dry_run=dry_run, field_validation=field_validation)
            if old is None:
                raise self._not_found(rt, name)
            current = self._out(rt, old)
            try:
                if patch_type == "merge":
                    if not isinstance(body, dict):
                        raise errors.bad_request("the body of the request was not a JSON object")
                    patched = _patch.merge_patch(current, body)
                elif patch_type == "json":
                    if not isinstance(body, list):
                        raise errors.bad_request("the body of the request was not a JSON patch (a list)")
                    patched = _patch.json_patch(current, body)
                elif patch_type == "strategic":
                    if not isinstance(body, dict):
                        raise errors.bad_request("the body of the request was not a JSON object")
                    patched = _patch.strategic_merge_patch(current, body, rt.api_version, rt.kind)
                else:
                    raise errors.unsupported_media_type(_patch_types(rt))
            except _patch.PatchError as exc:
                raise _from_patch_error(exc) from None
            if not isinstance(patched, dict):
                raise errors.bad_request("the patched object is not an object")
            pmeta = patched.setdefault("metadata", {})
            rv = pmeta.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, rt.group, name)
            if patched.get("apiVersion") != rt.api_version or patched.get("kind") != rt.kind:
                patched["apiVersion"], patched["kind"] = rt.api_version, rt.kind
            pmeta["name"] = name
            if namespace:
                pmeta["namespace"] = namespace
            new = self._validate(rt, patched, field_validation, "patch")
            return self._write(rt, old, new, manager=manager, subresource=subresource, dry_run=dry_run)

    def _apply(self, rt, old, body, name, namespace, *, manager, force, subresource, dry_run, field_validation):
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was not a JSON or YAML object")
        if body.get("apiVersion") != rt.api_version:
            if split_api_version(body.get("apiVersion", ""))[0] == rt.group and body.get("kind") == rt.kind:
                raise errors.bad_request(f"Incorrect version specified in apply patch. Specified patch version: "
                                         f"{body.get('apiVersion')}, expected: {rt.api_version}")
            raise errors.bad_request(f"invalid object type: {body.get('apiVersion')}, Kind={body.get('kind')}")
        if body.get("kind") != rt.kind:
            raise errors.bad_request(f"invalid object type: {body.get('apiVersion')}, Kind={body.get('kind')}")
        bmeta = body.get("metadata") or {}
        if bmeta.get("managedFields") is not None:
            raise errors.bad_request("metadata.managedFields must be nil")
        if bmeta.get("name") and bmeta["name"] != name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                     % (bmeta["name"], name))
        applied = self._validate(rt, clone(body), field_validation, "apply", partial=True)
        applied.setdefault("metadata", {})["name"] = name
        if namespace:
            applied["metadata"]["namespace"] = namespace
        if old is None and subresource:
            raise self._not_found(rt, name)
        if subresource == "status":
            # fields the status endpoint resets are not applied (nor owned)
            ameta = applied["metadata"]
            applied = {"apiVersion": applied["apiVersion"], "kind": applied["kind"],
                       "metadata": {k: ameta[k] for k in ("name", "namespace", "resourceVersion") if k in ameta},
                       **({"status": applied["status"]} if "status" in applied else {})}
        elif self._has_status_subresource(rt):
            applied.pop("status", None)  # the main endpoint resets status
        live = self._out(rt, old) if old is not None else None
        try:
            new = _patch.server_side_apply(live, applied, manager=manager, force=force,
                                           api_version=rt.api_version, kind=rt.kind, now=now_rfc3339(),
                                           subresource=subresource)
        except _patch.PatchError as exc:
            raise _from_patch_error(exc) from None
        if old is not None:
            new = self._validate(rt, new, "Ignore", "apply")
        if old is None:
            obj = self._create(rt, new, manager=manager, dry_run=dry_run, field_validation="Ignore",
                               applied=True, op="apply")
            self._local.created = True
            return obj
        rv = (applied.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, name)
        return self._write(rt, old, new, manager=manager, subresource=subresource, dry_run=dry_run,
                           applied=True)

    def _write(self, rt: ResourceType, old: dict, new: dict, *, manager: str, subresource: str | None,
               dry_run: bool, applied: bool = False) -> dict:
        """Common tail of update/patch/apply: server rules, no-op detection, storage, events."""
        ometa = old["metadata"]
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        if subresource == "status":
            result = clone(old)
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
            if applied:
                result["metadata"]["managedFields"] = (new.get("metadata") or {}).get("managedFields") or []
            new = result
        elif subresource == "finalize":
            result = clone(old)
            result.setdefault("spec", {})["finalizers"] = list((new.get("spec") or {}).get("finalizers") or [])
            new = result
        elif subresource:
            raise errors.not_found(f"{rt.plural}/{subresource}", rt.group, ometa["name"])
        else:
            meta = new.setdefault("metadata", {})
            if "status" in rt.subresources:
                if "status" in old:
                    new["status"] = clone(old["status"])
                else:
                    new.pop("status", None)
            if rt.group == "" and rt.kind == "Namespace":
                new.setdefault("spec", {})["finalizers"] = list((old.get("spec") or {}).get("finalizers") or [])
            for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                          "generation"):
                if field in ometa:
                    meta[field] = ometa[field]
                else:
                    meta.pop(field, None)
            apply_defaults(rt.group, rt.kind, new)
            if rt.group == "" and rt.kind == "Service":
                ospec, nspec = old.get("spec") or {}, new.get("spec") or {}
                for key in ("clusterIP", "clusterIPs"):
                    if key in ospec and not nspec.get(key):
                        nspec[key] = ospec[key]
            if rt.group == "apiextensions.k8s.io" and rt.kind == "CustomResourceDefinition":
                self._prepare_crd(new)
            if ometa.get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(ometa.get("finalizers") or [])
                if added:
                    raise errors.invalid(rt.kind, rt.group, ometa["name"], [{
                        "reason": "FieldValueForbidden", "field": "metadata.finalizers",
                        "message": "metadata.finalizers: Forbidden: no new finalizers can be added if the object "
                                   f"is being deleted, found new finalizers {_go_list(sorted(added))}"}])
            if "generation" in ometa and self._generation_changed(rt, old, new):
                meta["generation"] = ometa["generation"] + 1
            mf = meta.get("managedFields")
            if not applied:
                if mf == [{}]:
                    meta.pop("managedFields", None)
                else:
                    meta["managedFields"] = clone(ometa.get("managedFields") or [])
                    if not meta["managedFields"]:
                        meta.pop("managedFields")
        meta = new["metadata"]
        meta["resourceVersion"] = ometa["resourceVersion"]
        if not applied:
            cleared = "managedFields" not in meta and "managedFields" in ometa and subresource is None
            if not cleared:
                self._track(old, new, rt, manager, subresource)
        new = _order(new)
        _keep_managed_times(new, old)
        if _same(new, old):
            return self._out(rt, old)
        if dry_run:
            return self._out(rt, new)
        meta["resourceVersion"] = self._next_rv()
        key = self._key(rt, meta["name"], meta.get("namespace"))
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not (
                rt.kind == "Namespace" and rt.group == "" and (new.get("spec") or {}).get("finalizers")):
            self._remove(rt, key, new)
            return self._out(rt, new)
        self._bucket(rt)[key] = new
        if rt.group == "apiextensions.k8s.io" and rt.kind == "CustomResourceDefinition":
            self._register_crd(new)
        self._emit("MODIFIED", self._out(rt, new))
        return self._out(rt, new)

    # ---------------------------------------------------------------- delete

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None, *,
               propagation: str | None = None, dry_run: bool = False,
               preconditions: dict | None = None) -> dict | None:
        rt = self.resource(api_version, kind)
        return self._delete(rt, name, namespace, propagation=propagation, dry_run=dry_run,
                            preconditions=preconditions)

    def _delete(self, rt: ResourceType, name: str, namespace: str | None, *, propagation: str | None = None,
                dry_run: bool = False, preconditions: dict | None = None) -> dict | None:
        with self._lock:
            self._check_writable(rt, "delete")
            key = self._key(rt, name, namespace)
            old = self._bucket(rt).get(key)
            if old is None:
                raise self._not_found(rt, name)
            ometa = old["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != ometa.get("uid"):
                raise errors.conflict(rt.plural, rt.group, name,
                                      f"Precondition failed: UID in precondition: {pre['uid']}, "
                                      f"UID in object meta: {ometa.get('uid')}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != ometa.get("resourceVersion"):
                raise errors.conflict(rt.plural, rt.group, name,
                                      f"Precondition failed: ResourceVersion in precondition: "
                                      f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                      f"{ometa.get('resourceVersion')}")
            is_ns = rt.group == "" and rt.kind == "Namespace"
            if is_ns and name in PROTECTED_NAMESPACES:
                raise errors.forbidden("namespaces", "", name, "this namespace may not be deleted")
            if propagation and propagation not in ("Orphan", "Background", "Foreground"):
                raise errors.invalid("DeleteOptions", "meta.k8s.io", "", [{
                    "reason": "FieldValueNotSupported", "field": "propagationPolicy",
                    "message": f'propagationPolicy: Unsupported value: "{propagation}": supported values: '
                               '"Foreground", "Background", "Orphan", "nil"'}])
            if ometa.get("deletionTimestamp"):
                return self._out(rt, old)
            new = clone(old)
            meta = new["metadata"]
            finalizers = list(meta.get("finalizers") or [])
            gc_fin = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(propagation or "")
            if gc_fin and gc_fin not in finalizers:
                finalizers.append(gc_fin)
            is_crd = rt.group == "apiextensions.k8s.io" and rt.kind == "CustomResourceDefinition"
            if is_crd and CRD_CLEANUP_FINALIZER not in finalizers:
                finalizers.append(CRD_CLEANUP_FINALIZER)
            if is_ns:
                new.setdefault("status", {})["phase"] = "Terminating"
            stays = bool(finalizers) or (is_ns and (new.get("spec") or {}).get("finalizers"))
            if not stays:
                if dry_run:
                    return None
                self._remove(rt, key, new)
                return None
            if finalizers:
                meta["finalizers"] = finalizers
            meta["deletionTimestamp"] = now_rfc3339()
            meta["deletionGracePeriodSeconds"] = 0
            if meta.get("generation"):
                meta["generation"] += 1
            if dry_run:
                return self._out(rt, new)
            meta["resourceVersion"] = self._next_rv()
            self._bucket(rt)[key] = new
            self._emit("MODIFIED", self._out(rt, new))
            if is_crd:
                self._crds[(new["spec"]["group"], new["spec"]["names"]["plural"])] = new
                self._cleanup_crd_instances(new)
                new = self._bucket(rt).get(key)
                return self._out(rt, new) if new is not None else None
            return self._out(rt, new)

    def _cleanup_crd_instances(self, crd: dict) -> None:
        spec = crd["spec"]
        gr = (spec["group"], spec["names"]["plural"])
        rts = [rt for rt in self._types.values() if (rt.group, rt.plural) == gr and not rt.builtin]
        if rts:
            rt = rts[0]
            for (ns, name) in list(self._objects.get(gr, {})):
                try:
                    self._delete(rt, name, ns or None)
                except ApiError:
                    pass
        self._maybe_finish_crd(gr)

    def _maybe_finish_crd(self, gr: tuple[str, str]) -> None:
        crd = self._crds.get(gr)
        if not crd or not crd["metadata"].get("deletionTimestamp") or self._objects.get(gr):
            return
        crt = self._types[("apiextensions.k8s.io", "v1", "customresourcedefinitions")]
        key = ("", crd["metadata"]["name"])
        stored = self._bucket(crt).get(key)
        if stored is None:
            return
        fins = [f for f in stored["metadata"].get("finalizers") or [] if f != CRD_CLEANUP_FINALIZER]
        new = clone(stored)
        new["metadata"]["finalizers"] = fins
        new["metadata"]["resourceVersion"] = self._next_rv()
        if fins:
            self._bucket(crt)[key] = new
            self._emit("MODIFIED", self._out(crt, new))
        else:
            self._remove(crt, key, new)

    def _remove(self, rt: ResourceType, key: tuple[str, str], obj: dict) -> None:
        """Drop an object for good (lock held)."""
        self._bucket(rt).pop(key, None)
        obj["metadata"]["resourceVersion"] = self._next_rv()
        is_crd = rt.group == "apiextensions.k8s.io" and rt.kind == "CustomResourceDefinition"
        if is_crd:
            self._unregister_crd(obj)
        self._emit("DELETED", self._out(rt, obj))
        if not rt.builtin:
            self._maybe_finish_crd((rt.group, rt.plural))

    def remove_finalizer(self, api_version: str, kind: str, name: str, namespace: str | None, finalizer: str, *,
                         manager: str) -> dict | None:
        rt = self.resource(api_version, kind)
        with self._lock:
            key = self._key(rt, name, namespace)
            old = self._bucket(rt).get(key)
            if old is None:
                return None
            fins = list(old["metadata"].get("finalizers") or [])
            if finalizer not in fins:
                return self._out(rt, old)
            fins.remove(finalizer)
            new = clone(old)
            if fins:
                new["metadata"]["finalizers"] = fins
            else:
                new["metadata"].pop("finalizers", None)
            out = self._write(rt, old, new, manager=manager, subresource=None, dry_run=False)
            return out if key in self._bucket(rt) else None

    def finalize_namespace(self, name: str, *, manager: str) -> dict | None:
        """Drop spec.finalizers of a namespace (the /finalize subresource); None when it is gone."""
        rt = self._types[("", "v1", "namespaces")]
        with self._lock:
            key = ("", name)
            old = self._bucket(rt).get(key)
            if old is None:
                return None
            new = clone(old)
            new.setdefault("spec", {})["finalizers"] = []
            out = self._write(rt, old, new, manager=manager, subresource="finalize", dry_run=False)
            return out if key in self._bucket(rt) else None


def _same(a: dict, b: dict) -> bool:
    return a == b


def _keep_managed_times(new: dict, old: dict) -> None:
    """Put back the stored managedFields times when nothing else changed.

    The merge step of an apply (or an update) sees the object before defaulting, so a re-apply of
    an unchanged object can stamp a new time on its manager entry; once defaulted, the object is
    the stored one again. As the real server does, such a write keeps the stored times and so
    stays a no-op (same resourceVersion).
    """
    nmf = new["metadata"].get("managedFields")
    omf = old["metadata"].get("managedFields")
    if not nmf or not omf or len(nmf) != len(omf) or nmf == omf:
        return
    for a, b in zip(nmf, omf):
        if not isinstance(a, dict) or not isinstance(b, dict):
            return
        if {k: v for k, v in a.items() if k != "time"} != {k: v for k, v in b.items() if k != "time"}:
            return
    rest_new = {k: v for k, v in new.items() if k != "metadata"}
    rest_old = {k: v for k, v in old.items() if k != "metadata"}
    meta_new = {k: v for k, v in new["metadata"].items() if k != "managedFields"}
    meta_old = {k: v for k, v in old["metadata"].items() if k != "managedFields"}
    if rest_new == rest_old and meta_new == meta_old:
        new["metadata"]["managedFields"] = clone(omf)


def _order(obj: dict) -> dict:
    """Key order of the real encoder: apiVersion, kind, metadata, then the rest."""
    head = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    head.update({k: v for k, v in obj.items() if k not in head and k != "status"})
    if "status" in obj:
        head["status"] = obj["status"]
    return head


def _go_list(items) -> str:
    return "[" + " ".join(items) + "]"


def _short_json(obj) -> str:
    import json
    text = json.dumps(obj, separators=(",", ":"))
    return text.replace('"', '\\"')


def _patch_types(rt: ResourceType) -> list[str]:
    types = ["application/json-patch+json", "application/merge-patch+json"]
    if rt.builtin:
        types.append("application/strategic-merge-patch+json")
    types.append("application/apply-patch+yaml")
    return types


def _from_patch_error(exc) -> ApiError:
    details = {"causes": exc.causes} if exc.causes else None
    return ApiError(exc.code, exc.reason, exc.message, details)
