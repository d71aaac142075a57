"""Patch algorithms of the API server: merge, JSON, strategic merge, server-side apply.

Pure functions on JSON-compatible dicts; nothing here touches the store.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field


class PatchError(Exception):
    """A patch that cannot be applied; the store maps it to an ApiError."""

    def __init__(self, code: int, reason: str, message: str, causes: list[dict] | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.causes = causes or []


class ApplyConflict(PatchError):
    """Server-side apply conflict: 409 Conflict with FieldManagerConflict causes."""

    def __init__(self, message: str, causes: list[dict]):
        super().__init__(409, "Conflict", message, causes)


# --------------------------------------------------------------------------- type tables
# What the API server learns from Go struct tags: per field the strategic merge
# patch strategy/merge key and the server-side apply list type.


@dataclass(frozen=True)
class Field:
    """Patch metadata of one field; ``sub`` describes its value (or list items)."""

    sub: dict = field(default_factory=dict)
    smp: str = ""  # "", "merge", "retainKeys", "merge,retainKeys"
    key: str = ""  # strategic merge key of a list of maps
    ssa: tuple | str = ""  # "" atomic list, "set", or a tuple of list-map keys
    struct: bool = False  # a value struct: present (empty) in a fresh object


def _keyed(key: str, ssa_keys: tuple | None = None, sub: dict | None = None, smp: str = "merge") -> Field:
    return Field(sub=sub or {}, smp=smp, key=key, ssa=ssa_keys or (key,))


OBJECT_META = {
    "finalizers": Field(smp="merge", ssa="set"),
    "ownerReferences": _keyed("uid"),
}
STATUS = {"conditions": _keyed("type")}
CONTAINER = {
    "env": _keyed("name"),
    "ports": _keyed("containerPort", ("containerPort", "protocol")),
    "volumeMounts": _keyed("mountPath"),
    "volumeDevices": _keyed("devicePath"),
}
POD_SPEC = {
    "containers": _keyed("name", sub=CONTAINER),
    "initContainers": _keyed("name", sub=CONTAINER),
    "ephemeralContainers": _keyed("name", sub=CONTAINER),
    "volumes": _keyed("name", smp="merge,retainKeys"),
    "imagePullSecrets": _keyed("name"),
    "hostAliases": _keyed("ip"),
}
POD_TEMPLATE = {"metadata": Field(OBJECT_META, struct=True), "spec": Field(POD_SPEC, struct=True)}
WORKLOAD_SPEC = {
    "template": Field(POD_TEMPLATE, struct=True),
    "strategy": Field(smp="retainKeys", struct=True),
}
SPECS = {
    ("", "Pod"): POD_SPEC,
    ("", "PodTemplate"): None,
    ("", "Service"): {"ports": _keyed("port", ("port", "protocol"))},
    ("apps", "Deployment"): WORKLOAD_SPEC,
    ("apps", "StatefulSet"): WORKLOAD_SPEC,
    ("apps", "ReplicaSet"): WORKLOAD_SPEC,
    ("apps", "DaemonSet"): WORKLOAD_SPEC,
    ("batch", "Job"): {"template": Field(POD_TEMPLATE, struct=True)},
    ("batch", "CronJob"): {"jobTemplate": Field({"spec": Field(
        {"template": Field(POD_TEMPLATE, struct=True)}, struct=True)}, struct=True)},
}
# Default protocol of list-map keys that the server defaults (ports).
KEY_DEFAULTS = {"protocol": "TCP"}


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def is_builtin(api_version: str) -> bool:
    """Built-in API groups: the core group, dot-less groups and *.k8s.io."""
    group = _group(api_version)
    return "." not in group or group.endswith(".k8s.io")


def root_type(api_version: str, kind: str) -> dict:
    """Field table of a whole object of this kind."""
    meta = Field(OBJECT_META, struct=True)
    if not is_builtin(api_version):
        return {"metadata": meta}
    root = {"metadata": meta, "status": Field(STATUS, struct=True),
            "spec": Field(SPECS.get((_group(api_version), kind)) or {}, struct=True)}
    if kind == "PodTemplate":
        root["template"] = Field(POD_TEMPLATE, struct=True)
    return root


def _sub(table: dict, name: str) -> Field:
    return table.get(name) or Field()


# --------------------------------------------------------------------------- merge patch


def merge_patch(obj, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --------------------------------------------------------------------------- JSON patch

_REJECTED = "the server rejected our request due to an error in our request"


class _OpFailed(Exception):
    pass


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(path) -> list[str]:
    if not isinstance(path, str):
        raise _OpFailed("path is not a string")
    if path == "":
        return []
    if not path.startswith("/"):
        raise _OpFailed(f"invalid JSON pointer {path!r}")
    return [_unescape(t) for t in path[1:].split("/")]


def _index(token: str, size: int, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return size
    try:
        idx = int(token)
    except ValueError:
        raise _OpFailed(f"invalid array index {token!r}") from None
    if idx < 0:  # the server's JSON patch library accepts negative indices
        idx += size
    if idx < 0 or idx > size or (idx == size and not allow_end):
        raise _OpFailed(f"array index out of bounds: {token}")
    return idx


def _container(doc, tokens: list[str]):
    """The parent of the location named by tokens, and the last token."""
    cur = doc
    for tok in tokens[:-1]:
        if isinstance(cur, dict):
            if tok not in cur:
                raise _OpFailed(f"missing path element {tok!r}")
            cur = cur[tok]
        elif isinstance(cur, list):
            cur = cur[_index(tok, len(cur), allow_end=False)]
        else:
            raise _OpFailed(f"cannot descend into {tok!r}")
    return cur, tokens[-1]


def _get_at(doc, tokens):
    if not tokens:
        return doc
    parent, last = _container(doc, tokens)
    if isinstance(parent, dict):
        if last not in parent:
            raise _OpFailed(f"missing key {last!r}")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(last, len(parent), allow_end=False)]
    raise _OpFailed("not a container")


def _add_at(doc, tokens, value):
    if not tokens:
        return value
    parent, last = _container(doc, tokens)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), allow_end=True), value)
    else:
        raise _OpFailed("not a container")
    return doc


def _remove_at(doc, tokens):
    if not tokens:
        raise _OpFailed("cannot remove the document root")
    parent, last = _container(doc, tokens)
    if isinstance(parent, dict):
        if last not in parent:
            raise _OpFailed(f"unable to remove nonexistent key {last!r}")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(last, len(parent), allow_end=False))
    raise _OpFailed("not a container")


def _json_equal(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def json_patch(obj: dict, ops: list) -> dict:
    """RFC 6902 JSON patch; a failing operation is 422, a malformed patch 400."""
    if not isinstance(ops, list):
        raise PatchError(400, "BadRequest",
                         "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(obj)
    try:
        for op in ops:
            if not isinstance(op, dict):
                raise _OpFailed("operation is not an object")
            kind = op.get("op")
            tokens = _pointer(op.get("path"))
            if kind in ("add", "replace", "test") and "value" not in op:
                raise _OpFailed(f"missing value for {kind}")
            if kind == "add":
                doc = _add_at(doc, tokens, copy.deepcopy(op["value"]))
            elif kind == "remove":
                _remove_at(doc, tokens)
            elif kind == "replace":
                if not tokens:
                    doc = copy.deepcopy(op["value"])
                    continue
                _get_at(doc, tokens)  # must exist
                parent, last = _container(doc, tokens)
                if isinstance(parent, dict):
                    parent[last] = copy.deepcopy(op["value"])
                else:
                    parent[_index(last, len(parent), allow_end=False)] = copy.deepcopy(op["value"])
            elif kind in ("move", "copy"):
                source = _pointer(op.get("from"))
                if kind == "move":
                    if tokens[:len(source)] == source and tokens != source:
                        raise _OpFailed("cannot move a value into one of its children")
                    value = _remove_at(doc, source)
                else:
                    value = copy.deepcopy(_get_at(doc, source))
                doc = _add_at(doc, tokens, value)
            elif kind == "test":
                if not _json_equal(_get_at(doc, tokens), op["value"]):
                    raise _OpFailed("testing value failed")
            else:
                raise _OpFailed(f"unexpected kind: {kind}")
    except _OpFailed as exc:
        err = PatchError(422, "Invalid", _REJECTED)
        err.detail = str(exc)
        raise err from None
    return doc


# --------------------------------------------------------------------------- strategic merge patch

_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_ORDER = "$setElementOrder/"


def strategic_merge_patch(obj: dict, patch: dict, api_version: str, kind: str) -> dict:
    """Strategic merge patch of a built-in object (merge keys from the type tables)."""
    if not isinstance(patch, dict):
        raise PatchError(400, "BadRequest", "the body of the request was not a JSON object")
    return _smp_map(copy.deepcopy(obj), copy.deepcopy(patch), root_type(api_version, kind))


def _bad_patch(message: str) -> PatchError:
    return PatchError(400, "BadRequest", message)


def _smp_map(original: dict, patch: dict, table: dict) -> dict:
    directive = patch.pop(_DIRECTIVE, None)
    if directive == "replace":
        return _strip_directives(patch, table)
    if directive == "delete":
        return {}
    if directive not in (None, "merge"):
        raise _bad_patch(f"unknown patch type: {directive} in map: {json.dumps(patch)}")
    if _RETAIN in patch:
        keep = patch.pop(_RETAIN)
        if not isinstance(keep, list):
            raise _bad_patch("$retainKeys must be a list")
        original = {k: v for k, v in original.items() if k in keep}
    orders = {}
    for key in list(patch):
        if key.startswith(_DELETE_PRIMITIVE):
            name = key[len(_DELETE_PRIMITIVE):]
            drop = patch.pop(key) or []
            if isinstance(original.get(name), list):
                original[name] = [v for v in original[name] if v not in drop]
        elif key.startswith(_ORDER):
            orders[key[len(_ORDER):]] = patch.pop(key)
    for key, value in patch.items():
        info = _sub(table, key)
        if value is None:
            original.pop(key, None)
            continue
        current = original.get(key)
        if isinstance(value, dict):
            original[key] = _smp_map(current if isinstance(current, dict) else {}, value, info.sub)
        elif isinstance(value, list):
            if "merge" in info.smp.split(","):
                original[key] = _smp_list(current if isinstance(current, list) else [], value, info)
            else:
                original[key] = _strip_list(value, info)
        else:
            original[key] = value
    for name, order in orders.items():
        if isinstance(original.get(name), list):
            original[name] = _reorder(original[name], order, _sub(table, name).key)
    return original


def _strip_directives(value: dict, table: dict) -> dict:
    return _smp_map({}, value, table)


def _strip_list(items: list, info: Field) -> list:
    out = []
    for item in items:
        if isinstance(item, dict):
            if item.get(_DIRECTIVE) is not None:
                continue
            out.append(_smp_map({}, item, info.sub))
        else:
            out.append(item)
    return out


def _smp_list(original: list, patch: list, info: Field) -> list:
    for item in patch:
        if isinstance(item, dict) and item.get(_DIRECTIVE) == "replace":
            return _strip_list([i for i in patch if i is not item], info)
    if not patch:
        return original
    if not info.key or not all(isinstance(i, dict) for i in patch):
        merged = list(original)
        for item in patch:
            if item not in merged:
                merged.append(item)
        return merged
    result = list(original)
    for item in patch:
        if info.key not in item:
            raise _bad_patch(f"map: {json.dumps(item)} does not contain declared merge key: {info.key}")
        match = next((i for i, cur in enumerate(result)
                      if isinstance(cur, dict) and cur.get(info.key) == item[info.key]), None)
        if item.get(_DIRECTIVE) == "delete":
            result = [cur for cur in result
                      if not (isinstance(cur, dict) and cur.get(info.key) == item[info.key])]
            continue
        if match is None:
            result.append(_smp_map({}, dict(item), info.sub))
        else:
            result[match] = _smp_map(result[match], dict(item), info.sub)
    return result


def _reorder(items: list, order: list, key: str) -> list:
    """Apply $setElementOrder: listed elements take the listed order in their slots."""
    def ident(item):
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [o.get(key) if key and isinstance(o, dict) else o for o in order]
    listed = [i for i in items if ident(i) in wanted]
    listed.sort(key=lambda i: wanted.index(ident(i)))
    it = iter(listed)
    return [next(it) if ident(i) in wanted else i for i in items]


# --------------------------------------------------------------------------- field sets
# A path is a tuple of elements: ("f", name), ("k", '{"name":"x"}'), ("v", '"x"'), ("i", n).

# Fields the server never records as owned.
_STRIPPED = {
    (("f", "apiVersion"),), (("f", "kind"),), (("f", "metadata"),),
    *((("f", "metadata"), ("f", name)) for name in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation",
        "managedFields", "resourceVersion")),
}


def _compact(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _item_key(item, info: Field):
    """Path element of a list item under the field's SSA list type (None = atomic list)."""
    if info.ssa == "set":
        return ("v", _compact(item))
    if isinstance(info.ssa, tuple) and isinstance(item, dict):
        key = {}
        for name in info.ssa:
            if name in item:
                key[name] = item[name]
            elif name in KEY_DEFAULTS:
                key[name] = KEY_DEFAULTS[name]
        return ("k", _compact(key))
    return None


def _is_associative(info: Field) -> bool:
    return bool(info.ssa)


def _field_set(value, path: tuple, table: dict, out: set) -> None:
    """Paths set by an applied configuration (structured-merge-diff ToFieldSet)."""
    for key, child in value.items():
        cpath = path + (("f", key),)
        info = _sub(table, key)
        if child is None or (isinstance(child, dict) and not child):
            out.add(cpath)
        elif isinstance(child, dict):
            _field_set(child, cpath, info.sub, out)
        elif isinstance(child, list) and _is_associative(info):
            for item in child:
                ipath = cpath + (_item_key(item, info),)
                out.add(ipath)
                if isinstance(item, dict) and info.ssa != "set":
                    _field_set(item, ipath, info.sub, out)
        else:
            out.add(cpath)


def _all_paths(value, path: tuple, table: dict, out: set, *, nodes: bool) -> None:
    """Every path of a subtree; with nodes, maps and list items are included themselves."""
    if isinstance(value, dict):
        if nodes:
            out.add(path)
        for key, child in value.items():
            cpath = path + (("f", key),)
            info = _sub(table, key)
            if isinstance(child, dict) and child:
                _all_paths(child, cpath, info.sub, out, nodes=nodes)
            elif isinstance(child, list) and _is_associative(info):
                out.add(cpath)
                for item in child:
                    ipath = cpath + (_item_key(item, info),)
                    if isinstance(item, dict) and info.ssa != "set":
                        _all_paths(item, ipath, info.sub, out, nodes=True)
                    else:
                        out.add(ipath)
            else:
                out.add(cpath)
    else:
        out.add(path)


def _items_by_key(items: list, info: Field) -> dict:
    return {_item_key(item, info): item for item in items}


def _compare(old, new, path: tuple, table: dict, added: set, modified: set, removed: set,
             struct: bool = False) -> None:
    """Differences between two values of the same field (structured-merge-diff Compare)."""
    if isinstance(old, dict) and isinstance(new, dict) and (old or new):
        if not old and not struct and path:
            added.add(path)
        if not new and old and path:
            removed.add(path)
        for key in list(old) + [k for k in new if k not in old]:
            cpath = path + (("f", key),)
            info = _sub(table, key)
            if key not in new:
                _all_paths(old[key], cpath, info.sub, removed, nodes=True)
            elif key not in old:
                if isinstance(new[key], dict) and new[key]:
                    _compare({}, new[key], cpath, info.sub, added, modified, removed, info.struct)
                elif isinstance(new[key], list) and new[key] and _is_associative(info):
                    _compare([], new[key], cpath, info, added, modified, removed)
                else:
                    added.add(cpath)
            elif isinstance(old[key], list) and isinstance(new[key], list) and _is_associative(info):
                _compare(old[key], new[key], cpath, info, added, modified, removed)
            else:
                _compare(old[key], new[key], cpath, info.sub, added, modified, removed, info.struct)
    elif isinstance(old, list) and isinstance(new, list) and isinstance(table, Field):
        info = table
        olds, news = _items_by_key(old, info), _items_by_key(new, info)
        for key, item in olds.items():
            if key not in news:
                _all_paths(item, path + (key,), info.sub, removed, nodes=True)
        for key, item in news.items():
            ipath = path + (key,)
            if key in olds:
                if isinstance(item, dict) and isinstance(olds[key], dict):
                    _compare(olds[key], item, ipath, info.sub, added, modified, removed, True)
                elif not _json_equal(item, olds[key]):
                    modified.add(ipath)
            elif isinstance(item, dict) and info.ssa != "set":
                added.add(ipath)
                _compare({}, item, ipath, info.sub, added, modified, removed, True)
            else:
                added.add(ipath)
    elif not _json_equal(old, new):
        modified.add(path)


def _strip(paths: set) -> set:
    return {p for p in paths if p and p not in _STRIPPED}


def _without_managed(obj: dict | None) -> dict:
    obj = copy.deepcopy(obj) if obj else {}
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj


# --------------------------------------------------------------------------- fieldsV1 encoding


def _element_text(el) -> str:
    kind, val = el
    if kind == "f":
        return "f:" + val
    if kind == "i":
        return f"i:{val}"
    return f"{kind}:{val}"


def _parse_element(text: str):
    kind, dummy, val = text.partition(":")
    if kind == "i":
        return ("i", int(val))
    if kind in ("k", "v"):
        return (kind, _compact(json.loads(val)))
    return ("f", val)


_ORDER_RANK = {"f": 0, "v": 1, "i": 2, "k": 3}


def encode_fields(paths: set) -> dict:
    """FieldsV1 tree of a set of paths ('.' marks a path that also has children)."""
    tree: dict = {}
    for path in paths:
        node = tree
        for el in path:
            node = node.setdefault(el, {})
        node[None] = True

    def render(node: dict) -> dict:
        out = {}
        children = [k for k in node if k is not None]
        if node.get(None) and children:
            out["."] = {}
        for el in sorted(children, key=lambda e: (_ORDER_RANK[e[0]], str(e[1]))):
            out[_element_text(el)] = render(node[el])
        return out

    return render(tree)


def decode_fields(tree: dict, prefix: tuple = ()) -> set:
    """Set of paths of a FieldsV1 tree."""
    paths = set()
    if not isinstance(tree, dict):
        return paths
    for text, sub in tree.items():
        if text == ".":
            paths.add(prefix)
            continue
        path = prefix + (_parse_element(text),)
        if isinstance(sub, dict) and sub:
            paths |= decode_fields(sub, path)
        else:
            paths.add(path)
    return paths


def path_string(path: tuple) -> str:
    """A path as the server prints it in conflicts: .spec.containers[name="x"].image."""
    out = []
    for kind, val in path:
        if kind == "f":
            out.append("." + val)
        elif kind == "k":
            key = json.loads(val)
            out.append("[" + ",".join(f"{k}={_value_text(v)}" for k, v in sorted(key.items())) + "]")
        elif kind == "v":
            out.append(f"[={_value_text(json.loads(val))}]")
        else:
            out.append(f"[{val}]")
    return "".join(out)


def _value_text(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return _compact(value)


# --------------------------------------------------------------------------- managers


@dataclass
class _Entry:
    manager: str
    operation: str
    api_version: str
    subresource: str
    paths: set
    time: str | None
    raw: dict | None = None  # the entry as stored, kept when unchanged

    @property
    def ident(self) -> tuple:
        api = "" if self.operation == "Apply" else self.api_version
        return (self.manager, self.operation, api, self.subresource)

    def describe(self) -> str:
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def render(self) -> dict:
        if self.raw is not None:
            return copy.deepcopy(self.raw)
        entry = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time:
            entry["time"] = self.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = encode_fields(self.paths)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def _decode_entries(managed) -> list[_Entry]:
    entries = []
    for raw in managed or []:
        if not isinstance(raw, dict) or not raw.get("manager") and not raw.get("fieldsV1"):
            continue
        entries.append(_Entry(raw.get("manager", ""), raw.get("operation", "Update"),
                              raw.get("apiVersion", ""), raw.get("subresource", ""),
                              decode_fields(raw.get("fieldsV1") or {}), raw.get("time"), copy.deepcopy(raw)))
    return entries


def _set_paths(entry: _Entry, paths: set) -> None:
    if paths != entry.paths:
        entry.paths = paths
        entry.raw = None


def _encode_entries(entries: list[_Entry]) -> list[dict]:
    kept = [e for e in entries if e.paths]
    kept.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource))
    return [e.render() for e in kept]


def _existing(obj: dict | None) -> list[dict]:
    return ((obj or {}).get("metadata") or {}).get("managedFields") or []


# --------------------------------------------------------------------------- track_update


def track_update(old: dict | None, new: dict, *, manager: str, api_version: str,
                 subresource: str | None, now: str) -> list[dict]:
    """managedFields of ``new`` after a non-apply write by ``manager``."""
    sent = (new.get("metadata") or {}).get("managedFields")
    if isinstance(sent, list) and sent and all(isinstance(e, dict) and not e for e in sent):
        return []  # [{}] clears managedFields
    base = sent if isinstance(sent, list) and sent and sent != _existing(old) else _existing(old)
    entries = _decode_entries(base)
    kind = new.get("kind", (old or {}).get("kind", ""))
    table = root_type(api_version, kind)
    added, modified, removed = set(), set(), set()
    _compare(_without_managed(old), _without_managed(new), (), table, added, modified, removed,
             struct=True)
    if old is None and is_builtin(api_version):
        added -= {(("f", k),) for k, info in table.items() if info.struct}
    changed = _strip(added | modified)
    removed = _strip(removed)
    me = _Entry(manager, "Update", api_version, subresource or "", set(), now)
    for entry in entries:
        if entry.ident == me.ident:
            continue
        _set_paths(entry, entry.paths - changed - removed)
    mine = next((e for e in entries if e.ident == me.ident), None)
    if changed:
        if mine is None:
            entries.append(me)
            mine = me
        _set_paths(mine, (mine.paths - removed) | changed)
        mine.time, mine.raw = now, None
    elif mine is not None:
        _set_paths(mine, mine.paths - removed)
    return _encode_entries(entries)


# --------------------------------------------------------------------------- server-side apply


def _merge_applied(live, applied, table, info: Field | None = None):
    """Merge an applied configuration into the live value (applied wins)."""
    if isinstance(live, dict) and isinstance(applied, dict):
        out = dict(live)
        for key, value in applied.items():
            sub = _sub(table, key)
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = _merge_applied(out[key], value, sub.sub, sub)
            else:
                out[key] = copy.deepcopy(value)
        return out
    if isinstance(live, list) and isinstance(applied, list) and info is not None and _is_associative(info):
        return _merge_list(live, applied, info)
    return copy.deepcopy(applied)


def _merge_list(live: list, applied: list, info: Field) -> list:
    """Merge of an associative list, ordered the way structured-merge-diff orders it."""
    lkeys = [_item_key(i, info) for i in live]
    rkeys = [_item_key(i, info) for i in applied]
    lhs, rhs = dict(zip(lkeys, live)), dict(zip(rkeys, applied))
    shared = [k for k in rkeys if k in lhs]
    out, merged = [], set()

    def take(key):
        a, current = rhs[key], lhs.get(key)
        merged.add(key)
        if isinstance(a, dict) and isinstance(current, dict):
            out.append(_merge_applied(current, a, info.sub))
        else:
            out.append(copy.deepcopy(a))
        if shared and shared[0] == key:
            shared.pop(0)

    li = ri = 0
    while li < len(lkeys) or ri < len(rkeys):
        if li < len(lkeys) and ri < len(rkeys):
            key = lkeys[li]
            if key == rkeys[ri]:
                take(key)
                li, ri = li + 1, ri + 1
                continue
            if key in rhs and shared and shared[0] != key:
                li += 1
                continue
        if li < len(lkeys):
            key = lkeys[li]
            if key not in rhs:
                out.append(live[li])
                li += 1
                continue
            if key in merged:
                li += 1
                continue
        if ri < len(rkeys):
            take(rkeys[ri])
            ri += 1
    return out


def _locate(obj, path: tuple, table):
    """(parent container, element, field info) of a path, or None when absent."""
    cur, info = obj, Field(sub=table)
    for i, el in enumerate(path):
        last = i == len(path) - 1
        if el[0] == "f":
            if not isinstance(cur, dict) or el[1] not in cur:
                return None
            if last:
                return cur, el, info
            info = _sub(info.sub, el[1])
            cur = cur[el[1]]
        else:
            if not isinstance(cur, list):
                return None
            idx = next((n for n, item in enumerate(cur) if _item_key(item, info) == el), None)
            if idx is None:
                return None
            if last:
                return cur, idx, info
            cur = cur[idx]
            info = Field(sub=info.sub)
    return None


def _remove_path(obj: dict, path: tuple, table: dict) -> None:
    found = _locate(obj, path, table)
    if found is None:
        return
    parent, el = found[:2]
    if isinstance(parent, dict):
        parent.pop(el[1], None)
    else:
        parent.pop(el)


def _prune(merged: dict, stale: set, keep: set, table: dict) -> None:
    """Remove fields no longer applied and owned by nobody, then empty unowned parents."""
    def owned_below(path):
        n = len(path)
        return any(len(p) > n and p[:n] == path for p in keep)

    for path in sorted(stale, key=len):
        if path in keep or owned_below(path):
            continue
        _remove_path(merged, path, table)
        parent = path[:-1]
        while parent and parent not in keep and not owned_below(parent):
            found = _locate(merged, parent, table)
            if found is None:
                break
            container, el = found[:2]
            value = container[el[1]] if isinstance(container, dict) else container[el]
            if value not in ({}, []):
                break
            _remove_path(merged, parent, table)
            parent = parent[:-1]


def _conflict_error(conflicts: list[tuple[_Entry, tuple]]) -> ApplyConflict:
    conflicts.sort(key=lambda c: (json.dumps(c[0].ident), path_string(c[1])))
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {e.describe()}",
               "field": path_string(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        return ApplyConflict(f"Apply failed with 1 conflict: conflict with {entry.describe()}: "
                             f"{path_string(path)}", causes)
    lines, seen = [], []
    for entry, dummy in conflicts:
        if entry.ident not in [s.ident for s in seen]:
            seen.append(entry)
    for entry in seen:
        lines.append(f"conflicts with {entry.describe()}:")
        lines += [f"- {path_string(p)}" for e, p in conflicts if e.ident == entry.ident]
    return ApplyConflict(f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines), causes)


def server_side_apply(live: dict | None, applied: dict, *, manager: str, force: bool, api_version: str,
                      kind: str, now: str, subresource: str | None = None) -> dict:
    """The object after ``manager`` applies ``applied`` to ``live`` (None = create)."""
    table = root_type(api_version, kind)
    config = _without_managed(applied)
    base = _without_managed(live)
    entries = _decode_entries(_existing(live))
    me = _Entry(manager, "Apply", api_version, subresource or "", set(), now)
    mine = next((e for e in entries if e.ident == me.ident), None)
    applied_set = set()
    _field_set(config, (), table, applied_set)
    applied_set = _strip(applied_set)

    merged = _merge_applied(base, config, table)
    others = [e for e in entries if e.ident != me.ident]
    if mine is not None:
        keep = applied_set.union(*(e.paths for e in others)) if others else set(applied_set)
        _prune(merged, mine.paths - applied_set, keep, table)

    added, modified, removed = set(), set(), set()
    _compare(base, merged, (), table, added, modified, removed, struct=True)
    changed = _strip(added | modified)
    conflicts = [(e, p) for e in others for p in sorted(e.paths & changed, key=path_string)]
    if conflicts and not force:
        raise _conflict_error(conflicts)
    removed = _strip(removed)
    for entry in others:
        _set_paths(entry, entry.paths - changed - removed)
    if mine is None:
        mine = me
        entries.append(me)
    object_changed = not _json_equal(base, merged)
    _set_paths(mine, applied_set)
    if mine.api_version != api_version:
        mine.api_version, mine.raw = api_version, None
    if object_changed or mine.time is None:
        mine.time, mine.raw = now, None
    result = merged
    managed = _encode_entries(entries)
    result.setdefault("metadata", {})
    if managed:
        result["metadata"]["managedFields"] = managed
    else:
        result["metadata"].pop("managedFields", None)
    return result
