"""A client of a real API server with the interface of ``store.Store``.

The simulated controllers, the profile seed and the tests read and write the
cluster through ``get``/``try_get``/``list``/``create``/``update``/``patch``/
``delete``; with the real control plane they get a ``RemoteStore``, which does
the same over HTTPS like any controller: the same code drives either server.
"""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import quote, urlencode

import urllib3

from .errors import ApiError, TryGet
from .resources import ResourceType

DISCOVERY_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
RETRY_FOR = 10.0
PATCH_CONTENT_TYPES = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


def split_api_version(api_version: str) -> tuple[str, str]:
    group, sep, version = api_version.rpartition("/")
    return (group, version) if sep else ("", api_version)


def _types_from_discovery(doc: dict, builtin: bool) -> list[ResourceType]:
    out = []
    for group in doc.get("items") or []:
        name = (group.get("metadata") or {}).get("name", "")
        for version in group.get("versions") or []:
            for res in version.get("resources") or []:
                kind = (res.get("responseKind") or {}).get("kind", "")
                if not kind:
                    continue
                subs = tuple(s.get("subresource", "") for s in res.get("subresources") or [])
                out.append(ResourceType(
                    group=name, version=version.get("version", ""), kind=kind, plural=res.get("resource", ""),
                    singular=res.get("singularResource", ""), namespaced=res.get("scope") == "Namespaced",
                    verbs=tuple(res.get("verbs") or ()), short_names=tuple(res.get("shortNames") or ()),
                    categories=tuple(res.get("categories") or ()), subresources=subs, builtin=builtin))
    return out


class RemoteStore(TryGet):
    """Reads and writes objects of a real API server, as ``Store`` does in memory."""

    def __init__(self, url: str, token: str, ca_file: str, *, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "User-Agent": "orchestrator-test-cluster"}
        self._http = urllib3.PoolManager(maxsize=8, cert_reqs="CERT_REQUIRED", ca_certs=ca_file,
                                         timeout=urllib3.Timeout(total=timeout), retries=False)
        self._lock = threading.Lock()
        self._types: list[ResourceType] | None = None
        self._last_rv = ""
        self._virtual: dict = {}

    # ------------------------------------------------------------------ transport

    def request(self, method: str, path: str, body=None, *, query: dict | None = None,
                content_type: str = "application/json", accept: str = "application/json"):
        """One request, again every 0.1 s while the server answers 429 or 503 (a cache that is still
        filling, a busy server) for up to RETRY_FOR seconds; the decoded JSON answer, or ApiError with the
        server's code, reason and message. The simulated controllers do not wait the whole Retry-After
        (a second): they are the cluster's own and should not slow a test down."""
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                return self._request_once(method, path, body, query, content_type, accept)
            except ApiError as exc:
                if exc.code not in (429, 503) or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _request_once(self, method, path, body, query, content_type, accept):
        url = self.url + path
        query = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        if query:
            url += "?" + urlencode(query)
        headers = dict(self._headers, Accept=accept)
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            headers["Content-Type"] = content_type
        resp = self._http.request(method, url, body=data, headers=headers)
        text = resp.data.decode("utf-8", "replace")
        try:
            doc = json.loads(text) if text else {}
        except ValueError:
            doc = {"message": text.strip()}
        if resp.status >= 400:
            raise ApiError(resp.status, doc.get("reason", ""), doc.get("message", text.strip()),
                           doc.get("details"), headers={k: v for k, v in resp.headers.items()
                                                        if k.lower() == "retry-after"})
        return doc

    # ------------------------------------------------------------------ discovery

    def resource_types(self) -> list[ResourceType]:
        with self._lock:
            if self._types is None:
                core = self.request("GET", "/api", accept=DISCOVERY_V2)
                groups = self.request("GET", "/apis", accept=DISCOVERY_V2)
                self._types = _types_from_discovery(core, True) + _types_from_discovery(groups, False)
            return list(self._types)

    def forget_discovery(self) -> None:
        with self._lock:
            self._types = None

    def resource(self, api_version: str, kind: str) -> ResourceType:
        group, version = split_api_version(api_version)
        for attempt in range(2):
            for rt in self.resource_types():
                if rt.group == group and rt.version == version and rt.kind == kind:
                    return rt
            if attempt == 0:
                self.forget_discovery()
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({kind} {api_version})")

    def path(self, rt: ResourceType, name: str = "", namespace: str | None = None, subresource: str = "") -> str:
        base = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
        if rt.namespaced and namespace:
            base += f"/namespaces/{quote(namespace)}"
        base += f"/{rt.plural}"
        if name:
            base += f"/{quote(name)}"
        if subresource:
            base += f"/{subresource}"
        return base

    def resource_version(self) -> str:
        """The storage revision now (a quorum list's resourceVersion); discovery is read again after a change."""
        rv = self.request("GET", "/api/v1/namespaces", query={"limit": 1})["metadata"]["resourceVersion"]
        if rv != self._last_rv:
            self._last_rv = rv
            self.forget_discovery()
        return rv

    # ------------------------------------------------------------------ reads

    @staticmethod
    def _typed(rt: ResourceType, obj: dict) -> dict:
        obj.setdefault("apiVersion", rt.api_version)
        obj.setdefault("kind", rt.kind)
        return obj

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict:
        rt = self.resource(api_version, kind)
        return self._typed(rt, self.request("GET", self.path(rt, name, namespace)))

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None, field_selector: str | None = None) -> list[dict]:
        rt = self.resource(api_version, kind)
        doc = self.request("GET", self.path(rt, namespace=namespace),
                           query={"labelSelector": label_selector, "fieldSelector": field_selector})
        return [self._typed(rt, item) for item in doc.get("items") or []]

    def stored_types(self) -> list[ResourceType]:
        """One ResourceType per listable (group, plural) in the server's preferred version, aggregated APIs
        left out: what etcd holds."""
        seen, out = set(), []
        for rt in self.resource_types():
            if "list" not in rt.verbs or (rt.group, rt.plural) in seen or self._is_virtual(rt):
                continue
            seen.add((rt.group, rt.plural))
            out.append(rt)
        return out

    def _is_virtual(self, rt: ResourceType) -> bool:
        return any(group == rt.group and plural == rt.plural for group, _v, plural in self._virtual)

    def metadata_index(self) -> list[tuple[ResourceType, dict]]:
        """(type, metadata) for every stored object, read as PartialObjectMetadataList."""
        out = []
        for rt in self.stored_types():
            doc = self.request("GET", self.path(rt), accept=METADATA_LIST)
            out.extend((rt, item.get("metadata") or {}) for item in doc.get("items") or [])
        return out

    # ------------------------------------------------------------------ writes

    @staticmethod
    def _write_query(manager: str, dry_run: bool, field_validation: str = "") -> dict:
        return {"fieldManager": manager or None, "dryRun": "All" if dry_run else None,
                "fieldValidation": field_validation or None}

    def create(self, obj: dict, *, manager: str, dry_run: bool = False, field_validation: str = "Warn") -> dict:
        rt = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        out = self._typed(rt, self.request("POST", self.path(rt, namespace=meta.get("namespace")), obj,
                                           query=self._write_query(manager, dry_run, field_validation)))
        if obj["kind"] == "CustomResourceDefinition" and not dry_run:
            out = self._established(out)
        return out

    def _established(self, crd: dict, timeout: float = 30.0) -> dict:
        """Wait until a new CRD is served (condition Established), as a client that uses it next must."""
        deadline = time.monotonic() + timeout
        name = crd["metadata"]["name"]
        while True:
            conds = (crd.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conds):
                self.forget_discovery()
                return crd
            if time.monotonic() > deadline:
                raise ApiError(504, "Timeout", f"CustomResourceDefinition {name} not established after {timeout} s")
            time.sleep(0.02)
            crd = self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)

    def update(self, obj: dict, *, manager: str, subresource: str | None = None, dry_run: bool = False,
               field_validation: str = "Warn") -> dict:
        rt = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        path = self.path(rt, meta.get("name", ""), meta.get("namespace"), subresource or "")
        return self._typed(rt, self.request("PUT", path, obj,
                                            query=self._write_query(manager, dry_run, field_validation)))

    def patch(self, api_version: str, kind: str, name: str, namespace: str | None, body, *, patch_type: str,
              manager: str, force: bool = False, subresource: str | None = None, dry_run: bool = False,
              field_validation: str = "Warn") -> dict:
        rt = self.resource(api_version, kind)
        query = self._write_query(manager, dry_run, field_validation)
        if force:
            query["force"] = "true"
        return self._typed(rt, self.request("PATCH", self.path(rt, name, namespace, subresource or ""), body,
                                            query=query, content_type=PATCH_CONTENT_TYPES[patch_type]))

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None, *,
               propagation: str | None = None, dry_run: bool = False,
               preconditions: dict | None = None, grace_period: int | None = None) -> dict | None:
        rt = self.resource(api_version, kind)
        options = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if propagation:
            options["propagationPolicy"] = propagation
        if dry_run:
            options["dryRun"] = ["All"]
        if preconditions:
            options["preconditions"] = preconditions
        doc = self.request("DELETE", self.path(rt, name, namespace), options)
        if doc.get("kind") == "Status" or not (doc.get("metadata") or {}).get("deletionTimestamp"):
            return None
        return self._typed(rt, doc)

    def bind(self, pod: str, namespace: str, node: str) -> None:
        """Bind a Pod to a node (``pods/binding``), as the scheduler does."""
        self.request("POST", f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}/binding",
                     {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod, "namespace": namespace},
                      "target": {"apiVersion": "v1", "kind": "Node", "name": node}})

    def remove_finalizer(self, api_version: str, kind: str, name: str, namespace: str | None, finalizer: str, *,
                         manager: str) -> dict | None:
        """Drop one finalizer (read, then write with the read resourceVersion, again on a conflict)."""
        while True:
            obj = self.try_get(api_version, kind, name, namespace)
            if obj is None:
                return None
            fins = list(obj["metadata"].get("finalizers") or [])
            if finalizer not in fins:
                return obj
            fins.remove(finalizer)
            obj["metadata"]["finalizers"] = fins
            try:
                return self.update(obj, manager=manager)
            except ApiError as exc:
                if exc.code == 404:
                    return None
                if exc.code != 409:
                    raise

    # ------------------------------------------------------------------ aggregated APIs

    def register_virtual(self, rt: ResourceType, get, list_) -> None:
        """Serve ``rt`` from these callbacks as an aggregated API (see ``aggregated.py``)."""
        from .aggregated import AggregatedApi

        server = AggregatedApi(rt, get, list_).start()
        self._virtual[(rt.group, rt.version, rt.plural)] = server
        server.register(self)

    def close(self) -> None:
        for server in self._virtual.values():
            server.stop()
        self._virtual.clear()
        self._http.clear()
