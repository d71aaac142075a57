"""HTTP layer of the test cluster: the Kubernetes REST API over plain HTTP, a thin layer over Store."""

from __future__ import annotations

import base64
import json
import queue
import select
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

from . import errors
from .config import ClusterConfig, Faults
from .errors import ApiError
from .faults import DROP, FaultDrawer, fault_error
from .resources import RETURNS_DELETED_OBJECT, ResourceType
from .store import Store, kubernetes_version, now_rfc3339, split_api_version

WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}
# A request without a token is system:anonymous, who may read only /version and the health checks
# (system:public-info-viewer).
ANONYMOUS = "system:anonymous"
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class RequestEntry:
    method: str
    path: str
    query: str
    content_type: str
    status: int
    user_agent: str

    @property
    def verb(self) -> str:
        return self.method


class RequestLog:
    """Thread-safe record of the requests the server answered."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: list[RequestEntry] = []

    def add(self, entry: RequestEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[RequestEntry]:
        with self._lock:
            return list(self._entries)

    def __iter__(self):
        return iter(self.entries)

    def __len__(self):
        with self._lock:
            return len(self._entries)

    def find(self, method: str | None = None, path: str | None = None, status: int | None = None):
        return [e for e in self.entries if (method is None or e.method == method)
                and (path is None or path in e.path) and (status is None or e.status == status)]

    def counts(self) -> dict:
        """Counts by method, by status, and by (method, status)."""
        out: dict = {}
        for e in self.entries:
            out[e.method] = out.get(e.method, 0) + 1
            out[e.status] = out.get(e.status, 0) + 1
            out[(e.method, e.status)] = out.get((e.method, e.status), 0) + 1
        return out

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()


def query_bool(value: str | None) -> bool:
    """The API server's rule: "0" and "false" (any case) are false, anything else true."""
    if value is None:
        return False
    return value.strip().lower() not in ("false", "0")


@dataclass
class Route:
    rt: ResourceType | None
    namespace: str | None
    name: str | None
    subresource: str | None
    group: str
    version: str


class ApiServer:
    """Owns the HTTP server thread; answers with Store semantics."""

    def __init__(self, store: Store, config: ClusterConfig, log: RequestLog | None = None):
        self.store = store
        self.config = config
        self.log = log if log is not None else RequestLog()
        self._faults = FaultDrawer(config.faults)
        self.stopping = threading.Event()
        handler = type("Handler", (_Handler,), {"api": self})
        self.httpd = ThreadingHTTPServer((config.host, config.port), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{config.host}:{self.port}"
        self._thread: threading.Thread | None = None
        self._tls = None
        self.kube_version = kubernetes_version(config)

    def set_faults(self, faults: Faults) -> None:
        self._faults.set(faults)

    @property
    def faults(self) -> Faults:
        return self._faults.faults

    def draw_fault(self, method: str) -> str | int | None:
        """None, "drop" or an HTTP error code, per the fault settings."""
        return self._faults.draw(method)

    def start_tls(self) -> str:
        """A second listener with a self-signed certificate (clients such as kubectl send tokens only over
        TLS); returns its https URL."""
        if self._tls is None:
            import ssl
            cert, key = _self_signed_cert()
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            handler = type("TLSHandler", (_Handler,), {"api": self})
            httpd = ThreadingHTTPServer((self.config.host, 0), handler)
            httpd.daemon_threads = True
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
            thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                      name="test-cluster-https", daemon=True)
            thread.start()
            self._tls = (httpd, thread)
        return f"https://{self.config.host}:{self._tls[0].server_address[1]}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="test-cluster-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._tls is not None:
            self._tls[0].shutdown()
            self._tls[0].server_close()
            self._tls[1].join(timeout=5)
            self._tls = None
        if self._thread:
            self._thread.join(timeout=5)

    # ------------------------------------------------------------------ discovery documents

    def version_doc(self) -> dict:
        major, minor = self.kube_version.split(".")[:2]
        return {"major": major, "minor": minor, "gitVersion": f"v{self.kube_version}",
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2024-01-01T00:00:00Z", "goVersion": "go1.21.11", "compiler": "gc",
                "platform": "linux/amd64"}

    def group_doc(self, group: str, versions: list[str]) -> dict:
        vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": vs, "preferredVersion": vs[0]}

    def resource_list(self, group: str, version: str) -> dict | None:
        resources = []
        for rt in sorted(self.store.resource_types(), key=lambda r: r.plural):
            if rt.group == group and rt.version == version:
                resources.extend(rt.discovery())
                if (rt.group, rt.plural) == ("", "pods"):
                    resources.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                                      "verbs": ["get"]})
        if not resources:
            return None
        gv = f"{group}/{version}" if group else version
        doc = {"kind": "APIResourceList", "groupVersion": gv, "resources": resources}
        if group:
            doc = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
        return doc


class _Drop(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    api: ApiServer
    server_version = "test-cluster"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    # ------------------------------------------------------------------ plumbing

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_OPTIONS(self):
        self._handle("OPTIONS")

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length:
            return self.rfile.read(int(length))
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def _handle(self, method: str):
        split = urlsplit(self.path)
        self.req_path, self.req_query = split.path, split.query
        self.query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self.status_sent = 0
        self._recorded = False
        self.extra_headers: list[tuple[str, str]] = []
        self.api.store.warnings()
        try:
            body = self._read_body()
            fault = self.api.draw_fault(method)
            if fault == DROP:
                self._record(0)
                raise _Drop()
            if fault:
                raise fault_error(int(fault))
            self.user = self._authenticate()
            self._dispatch(method, body)
        except _Drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except ApiError as exc:
            self._send_json(exc.code or 500, exc.status(), headers=exc.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a bug in the stand-in: answer like the real server would
            import traceback
            traceback.print_exc()
            err = errors.internal_error(f"{type(exc).__name__}: {exc}")
            self._send_json(500, err.status())
        finally:
            self._record(self.status_sent)

    def _record(self, status: int) -> None:
        """Log the request once, before its answer leaves (so a client never sees an unlogged answer)."""
        if getattr(self, "_recorded", False):
            return
        self._recorded = True
        self.api.log.add(RequestEntry(self.command, self.req_path, self.req_query,
                                      self.headers.get("Content-Type", ""), status,
                                      self.headers.get("User-Agent", "")))

    def _send(self, code: int, data: bytes, content_type: str, headers: dict | None = None):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for text in self.api.store.warnings():
            self.send_header("Warning", '299 - "%s"' % text.replace('"', '\\"'))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        for k, v in self.extra_headers:
            self.send_header(k, v)
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        self.status_sent = code
        self._record(code)
        self.flush_headers()

    def _send_json(self, code: int, obj, headers: dict | None = None):
        data = json.dumps(obj, separators=(",", ":")).encode()
        self._send(code, data, "application/json", headers)

    def _authenticate(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        cfg = self.api.config
        if auth.startswith("Bearer "):
            token = auth[7:].strip()
            if token == cfg.token:
                return "system:admin"
            if cfg.readonly_token and token == cfg.readonly_token:
                return "readonly"
            raise errors.unauthorized()
        return ANONYMOUS

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, method: str, body: bytes):
        path = self.req_path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        api = self.api
        if path in ("/healthz", "/livez", "/readyz"):
            return self._send(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return self._send_json(200, api.version_doc())
        resource_path = (parts[:2] == ["api", "v1"] and len(parts) > 2) or (parts[:1] == ["apis"] and len(parts) > 3)
        if self.user == ANONYMOUS and not resource_path:
            raise ApiError(403, "Forbidden", f'forbidden: User "{ANONYMOUS}" cannot get path "{self.req_path}"', {})
        if path == "/api":
            return self._send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{api.config.host}:{api.port}"}]})
        if path == "/apis":
            groups = api.store.group_versions()
            docs = [api.group_doc(g, groups[g]) for g in sorted(groups) if g]
            return self._send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": docs})
        if parts and parts[0] == "apis" and len(parts) == 2:
            versions = api.store.group_versions().get(parts[1])
            if not versions:
                return self._not_found_page()
            return self._send_json(200, {"kind": "APIGroup", "apiVersion": "v1",
                                         **api.group_doc(parts[1], versions)})
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts and parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return self._not_found_page()
        if not rest:
            doc = api.resource_list(group, version)
            return self._send_json(200, doc) if doc else self._not_found_page()
        if group == "" and len(rest) == 5 and rest[0] == "namespaces" and rest[2:5:2] == ["pods", "log"]:
            return self._pod_log(method, rest[1], rest[3])
        route = self._route(group, version, rest)
        if route is None or route.rt is None:
            return self._not_found_page()
        self._authorize(method, route)
        if route.name is None:
            return self._collection(method, route, body)
        return self._item(method, route, body)

    def _pod_log(self, method: str, namespace: str, name: str):
        """GET /api/v1/namespaces/<ns>/pods/<name>/log: the Pod's log as text/plain."""
        from .controllers.workloads import pod_log

        if method not in ("GET", "HEAD"):
            raise errors.method_not_allowed()
        pod = self.api.store.get("v1", "Pod", name, namespace)
        return self._send(200, pod_log(self.api.config, pod).encode(), "text/plain")

    def _not_found_page(self):
        self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def _route(self, group: str, version: str, rest: list[str]) -> Route | None:
        store = self.api.store

        def rt_for(plural):
            try:
                return store.resource_by_plural(group, version, plural)
            except ApiError:
                return None

        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (group == "" and rest[2] in ("status", "finalize")
                                                               and len(rest) == 3):
            namespace, rest = rest[1], rest[2:]
            rt = rt_for(rest[0])
            if rt is None or not rt.namespaced:
                return None
        else:
            rt = rt_for(rest[0])
            if rt is None:
                return None
        if len(rest) > 3:
            return None
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub and sub not in rt.subresources:
            return None
        if not rt.namespaced and namespace:
            return None
        return Route(rt, namespace, name, sub, group, version)

    def _authorize(self, method: str, route: Route):
        if self.user not in ("readonly", ANONYMOUS):
            return
        verb = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}.get(method, "get")
        if route.name is None:
            verb = {"get": "list", "delete": "deletecollection"}.get(verb, verb)
        if route.rt.group == "authorization.k8s.io" and self.user != ANONYMOUS:
            return
        if verb in WRITE_VERBS or self.user == ANONYMOUS:
            raise errors.forbidden_user(self.user, verb, route.rt.plural, route.rt.group, route.name or "",
                                        route.namespace, route.subresource or "")

    # ------------------------------------------------------------------ options

    def _dry_run(self) -> bool:
        values = parse_qs(self.req_query, keep_blank_values=True).get("dryRun") or []
        for value in values:
            if value != "All":
                raise errors.invalid("", "", "", [{
                    "reason": "FieldValueNotSupported", "field": "dryRun",
                    "message": f'dryRun: Unsupported value: ["{value}"]: supported values: "All"'}])
        return bool(values)

    def _field_validation(self) -> str:
        value = self.query.get("fieldValidation", "") or "Warn"
        if value not in ("Ignore", "Warn", "Strict"):
            raise errors.bad_request(f"fieldValidation must be one of Ignore, Warn or Strict, got: {value}")
        return value

    def _manager(self) -> str:
        manager = self.query.get("fieldManager")
        if manager:
            if len(manager) > 128:
                raise errors.invalid("", "", "", [{
                    "reason": "FieldValueTooLong", "field": "fieldManager",
                    "message": "fieldManager: Too long: may not be more than 128 bytes"}])
            return manager
        agent = self.headers.get("User-Agent") or "unknown"
        prefix = agent.split("/", 1)[0]
        return "".join(ch for ch in prefix if ch.isprintable())[:128] or "unknown"

    def _parse_body(self, body: bytes, yaml_ok: bool = False):
        if not body.strip():
            raise errors.bad_request("the body of the request is empty")
        try:
            return json.loads(body)
        except ValueError:
            if yaml_ok:
                try:
                    return yaml.load(body, Loader=SAFE_LOADER)
                except yaml.YAMLError as exc:
                    raise errors.bad_request(f"error decoding YAML: {exc}") from None
            raise errors.bad_request("the body of the request could not be decoded as JSON") from None

    def _created(self) -> bool:
        return self.api.store.created()

    # ------------------------------------------------------------------ collection verbs

    def _collection(self, method: str, route: Route, body: bytes):
        rt, store = route.rt, self.api.store
        if method in ("GET", "HEAD"):
            if query_bool(self.query.get("watch")):
                return self._watch(route)
            return self._list(route)
        if method == "POST":
            obj = self._parse_body(body)
            if not isinstance(obj, dict):
                raise errors.bad_request("the body of the request is not an object")
            self._check_body_type(rt, obj)
            meta = obj.setdefault("metadata", {}) if isinstance(obj.get("metadata", {}), dict) else None
            if meta is None:
                raise errors.bad_request("metadata must be an object")
            if rt.namespaced:
                if meta.get("namespace") and route.namespace and meta["namespace"] != route.namespace:
                    raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                             "sent on the request")
                if route.namespace:
                    meta["namespace"] = route.namespace
                elif not meta.get("namespace"):
                    return self._not_found_page()
            if rt.group == "authorization.k8s.io" and rt.kind == "SelfSubjectAccessReview":
                return self._ssar(obj)
            created = store._create(rt, obj, manager=self._manager(), dry_run=self._dry_run(),
                                    field_validation=self._field_validation())
            return self._send_json(201, self._strip_for_output(created))
        if method == "DELETE":
            opts = self._delete_options(body)
            items, _rv = store.list_resource(rt, route.namespace, self.query.get("labelSelector"),
                                             self.query.get("fieldSelector"))
            out = []
            for item in items:
                meta = item["metadata"]
                try:
                    res = store._delete(rt, meta["name"], meta.get("namespace"), **opts)
                except ApiError as exc:
                    if exc.code == 404:
                        continue
                    raise
                out.append(res or item)
            return self._send_json(200, self._list_doc(rt, out, store.resource_version()))
        raise errors.method_not_allowed()

    def _check_body_type(self, rt: ResourceType, obj: dict):
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not api_version:
            obj["apiVersion"] = rt.api_version
        elif api_version != rt.api_version:
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                     f"API version ({rt.api_version})")
        if not kind:
            obj["kind"] = rt.kind
        elif kind != rt.kind:
            raise errors.bad_request(f"the object provided is unrecognized (must be of type {rt.kind}): "
                                     f'couldn\'t get version/kind; json parse error (kind "{kind}")')

    def _ssar(self, obj: dict):
        attrs = (obj.get("spec") or {}).get("resourceAttributes") or {}
        verb = attrs.get("verb", "")
        allowed = self.user != "readonly" or verb in ("get", "list", "watch")
        out = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
               "metadata": {"creationTimestamp": None}, "spec": obj.get("spec") or {},
               "status": {"allowed": allowed}}
        return self._send_json(201, out)

    def _list_doc(self, rt: ResourceType, items: list[dict], rv: str, cont: str = "",
                  remaining: int | None = None) -> dict:
        meta = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
        if remaining:
            meta["remainingItemCount"] = remaining
        if rt.builtin:
            items = [{k: v for k, v in i.items() if k not in ("apiVersion", "kind")} for i in items]
        return {"kind": rt.list_kind_name, "apiVersion": rt.api_version, "metadata": meta, "items": items}

    def _list(self, route: Route):
        rt, store = route.rt, self.api.store
        items, rv = store.list_resource(rt, route.namespace, self.query.get("labelSelector"),
                                        self.query.get("fieldSelector"))
        start = 0
        token = self.query.get("continue")
        if token:
            try:
                data = json.loads(base64.urlsafe_b64decode(token.encode()))
                rv, start = data["rv"], int(data["start"])
            except (ValueError, KeyError, TypeError):
                raise errors.bad_request("continue key is not valid: illegal base64 data") from None
        limit = int(self.query.get("limit") or 0)
        cont, remaining = "", None
        if limit > 0 and len(items) - start > limit:
            cont = base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": start + limit}).encode()).decode()
            # the real server counts what remains only for a list without selectors
            if not self.query.get("labelSelector") and not self.query.get("fieldSelector"):
                remaining = len(items) - start - limit
        page = items[start:start + limit] if limit > 0 else items[start:]
        if self._wants_table():
            return self._send_json(200, self._table(rt, page, rv, cont))
        return self._send_json(200, self._list_doc(rt, page, rv, cont, remaining))

    def _wants_table(self) -> bool:
        accept = self.headers.get("Accept") or ""
        return "as=Table" in accept

    def _table(self, rt: ResourceType, items: list[dict], rv: str, cont: str = "") -> dict:
        now = time.time()
        rows = []
        for item in items:
            meta = item.get("metadata", {})
            rows.append({"cells": [meta.get("name", ""), _age(meta.get("creationTimestamp"), now)],
                         "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                    "metadata": meta}})
        meta = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a "
             "namespace.", "priority": 0},
            {"name": "Created At", "type": "date", "format": "", "description": "CreationTimestamp is a timestamp "
             "representing the server time when this object was created.", "priority": 0}], "rows": rows}

    # ------------------------------------------------------------------ item verbs

    def _item(self, method: str, route: Route, body: bytes):
        rt, store = route.rt, self.api.store
        sub = route.subresource
        if sub == "scale":
            return self._scale(method, route, body)
        if method in ("GET", "HEAD"):
            if query_bool(self.query.get("watch")):
                return self._watch(route)
            obj = store._get(rt, route.name, route.namespace)
            if self._wants_table():
                return self._send_json(200, self._table(rt, [obj], obj["metadata"].get("resourceVersion", "")))
            return self._send_json(200, obj)
        if method == "PUT":
            if sub == "finalize" or (sub is None or sub == "status"):
                obj = self._parse_body(body)
                if not isinstance(obj, dict):
                    raise errors.bad_request("the body of the request is not an object")
                self._check_body_type(rt, obj)
                meta = obj.setdefault("metadata", {})
                if meta.get("name") and meta["name"] != route.name:
                    raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name "
                                             f"on the URL ({route.name})")
                meta["name"] = route.name
                if rt.namespaced:
                    if meta.get("namespace") and meta["namespace"] != route.namespace:
                        raise errors.bad_request("the namespace of the provided object does not match the "
                                                 "namespace sent on the request")
                    meta["namespace"] = route.namespace
                out = store.update(obj, manager=self._manager(), subresource=sub, dry_run=self._dry_run(),
                                   field_validation=self._field_validation())
                return self._send_json(200, self._strip_for_output(out))
        if method == "PATCH":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            patch_type = PATCH_TYPES.get(ctype)
            accepted = [t for t in PATCH_TYPES if rt.builtin or PATCH_TYPES[t] != "strategic"]
            if patch_type is None:
                raise errors.unsupported_media_type(accepted)
            parsed = self._parse_body(body, yaml_ok=patch_type == "apply")
            force = query_bool(self.query.get("force")) if "force" in self.query else False
            manager = self.query.get("fieldManager", "") if patch_type == "apply" else self._manager()
            if patch_type == "apply" and manager:
                manager = self._manager()
            out = store.patch(rt.api_version, rt.kind, route.name, route.namespace, parsed,
                              patch_type=patch_type, manager=manager, force=force, subresource=sub,
                              dry_run=self._dry_run(), field_validation=self._field_validation())
            code = 201 if patch_type == "apply" and self._created() else 200
            return self._send_json(code, self._strip_for_output(out))
        if method == "DELETE" and sub is None:
            opts = self._delete_options(body)
            before = store._get(rt, route.name, route.namespace)
            out = store._delete(rt, route.name, route.namespace, **opts)
            if out is not None:
                return self._send_json(200, out)
            if (rt.group, rt.plural) in RETURNS_DELETED_OBJECT:
                return self._send_json(200, before)
            details = {"name": route.name}
            if rt.group:
                details["group"] = rt.group
            details["kind"] = rt.plural
            details["uid"] = before["metadata"].get("uid", "")
            return self._send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                         "status": "Success", "details": details})
        raise errors.method_not_allowed()

    def _strip_for_output(self, obj: dict) -> dict:
        return obj

    def _delete_options(self, body: bytes) -> dict:
        opts = {}
        if body.strip():
            try:
                opts = json.loads(body)
            except ValueError:
                raise errors.bad_request("the body of the request could not be decoded as DeleteOptions") from None
        propagation = opts.get("propagationPolicy") or self.query.get("propagationPolicy")
        orphan = opts.get("orphanDependents")
        if orphan is None and "orphanDependents" in self.query:
            orphan = query_bool(self.query["orphanDependents"])
        if propagation is None and orphan is True:
            propagation = "Orphan"
        dry = opts.get("dryRun")
        if dry:
            for value in dry:
                if value != "All":
                    raise errors.invalid("", "", "", [{
                        "reason": "FieldValueNotSupported", "field": "dryRun",
                        "message": f'dryRun: Unsupported value: ["{value}"]: supported values: "All"'}])
        dry_run = bool(dry) or self._dry_run()
        return {"propagation": propagation, "dry_run": dry_run, "preconditions": opts.get("preconditions")}

    def _scale(self, method: str, route: Route, body: bytes):
        rt, store = route.rt, self.api.store
        obj = store._get(rt, route.name, route.namespace)
        if method == "PUT" or method == "PATCH":
            parsed = self._parse_body(body, yaml_ok=True)
            if method == "PATCH":
                replicas = ((parsed or {}).get("spec") or {}).get("replicas")
            else:
                replicas = (parsed.get("spec") or {}).get("replicas")
            if replicas is not None:
                obj = store.patch(rt.api_version, rt.kind, route.name, route.namespace,
                                  {"spec": {"replicas": replicas}}, patch_type="merge", manager=self._manager(),
                                  dry_run=self._dry_run())
        elif method not in ("GET", "HEAD"):
            raise errors.method_not_allowed()
        meta = obj["metadata"]
        selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        scale = {"kind": "Scale", "apiVersion": "autoscaling/v1",
                 "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                   "creationTimestamp") if k in meta},
                 "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
                 "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                            "selector": ",".join(f"{k}={v}" for k, v in selector.items())}}
        return self._send_json(200, scale)

    # ------------------------------------------------------------------ watch

    def _watch(self, route: Route):
        rt, store = route.rt, self.api.store
        from .store import fields_match, labels_match, parse_field_selector, parse_label_selector
        lreqs = parse_label_selector(self.query.get("labelSelector"))
        freqs = parse_field_selector(self.query.get("fieldSelector"))
        if route.name:
            freqs.append(("metadata.name", "=", route.name))
        timeout = float(self.query.get("timeoutSeconds") or 1800)
        events: queue.Queue = queue.Queue()

        def matches(obj: dict) -> bool:
            meta = obj.get("metadata", {})
            group = split_api_version(obj.get("apiVersion", ""))[0]
            if group != rt.group or obj.get("kind") != rt.kind:
                return False
            if route.namespace and meta.get("namespace") != route.namespace:
                return False
            return labels_match(meta.get("labels") or {}, lreqs) and fields_match(obj, freqs)

        def on_event(etype: str, obj: dict):
            if matches(obj):
                events.put((etype, obj))

        rv = self.query.get("resourceVersion") or ""
        with store._lock:
            store.subscribe(on_event)
            if rv and rv != "0":
                try:
                    initial = store.events_since(int(rv))
                except ValueError:
                    initial = None
                if initial is None:
                    store.unsubscribe(on_event)
                    raise errors.expired(f"too old resource version: {rv} ({store.resource_version()})")
                initial = [(t, o) for t, o in initial if matches(o)]
            else:
                items, _rv = store.list_resource(rt, route.namespace, self.query.get("labelSelector"),
                                                 self.query.get("fieldSelector"))
                initial = [("ADDED", o) for o in items if fields_match(o, freqs)]
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.status_sent = 200
            self._record(200)
            self.end_headers()
            for etype, obj in initial:
                self._chunk(etype, obj, rt)
            deadline = time.monotonic() + timeout
            while not self.api.stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    etype, obj = events.get(timeout=min(left, 0.2))
                except queue.Empty:
                    if self._client_gone():
                        self.close_connection = True
                        return
                    continue
                self._chunk(etype, obj, rt)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        finally:
            store.unsubscribe(on_event)

    def _chunk(self, etype: str, obj: dict, rt: ResourceType):
        obj["apiVersion"] = rt.api_version
        data = json.dumps({"type": etype, "object": obj}, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _client_gone(self) -> bool:
        try:
            readable = select.select([self.connection], [], [], 0)[0]
            if readable:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
        return False


_CERT: tuple[str, str] | None = None
_CERT_LOCK = threading.Lock()


def _self_signed_cert() -> tuple[str, str]:
    """(cert path, key path) of a self-signed certificate for 127.0.0.1, made once per process."""
    global _CERT
    with _CERT_LOCK:
        if _CERT is None:
            import datetime
            import ipaddress
            import tempfile

            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.x509.oid import NameOID

            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-cluster")])
            now = datetime.datetime.now(datetime.timezone.utc)
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                    .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                    .not_valid_after(now + datetime.timedelta(days=30))
                    .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                                x509.DNSName("localhost")]), critical=False)
                    .sign(key, hashes.SHA256()))
            folder = tempfile.mkdtemp(prefix="test-cluster-tls-")
            cert_path, key_path = f"{folder}/tls.crt", f"{folder}/tls.key"
            with open(cert_path, "wb") as fh:
                fh.write(cert.public_bytes(serialization.Encoding.PEM))
            with open(key_path, "wb") as fh:
                fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
            _CERT = (cert_path, key_path)
        return _CERT


def _age(timestamp: str | None, now: float) -> str:
    return timestamp or now_rfc3339()
