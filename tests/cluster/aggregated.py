"""An API the real API server serves by aggregation, as OpenShift's package server
serves ``packages.operators.coreos.com/v1`` PackageManifests.

``AggregatedApi(rt, get, list_)`` answers get and list of one resource type from two
callbacks over HTTPS; ``register(store)`` makes the API server proxy the group to it
(an ExternalName Service to localhost and an APIService).
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

from .errors import ApiError
from .pki import HttpsServer
from .resources import ResourceType
from .store import fields_match, labels_match, parse_field_selector, parse_label_selector

SERVICE_NAMESPACE = "kube-system"
MANAGER = "cluster-bootstrap"


class AggregatedApi:
    def __init__(self, rt: ResourceType, get, list_):
        self.rt = rt
        self.get = get
        self.list_ = list_
        self._server = HttpsServer(self._answer_json, "aggregated-api")

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> "AggregatedApi":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    # ------------------------------------------------------------------ answers

    def _answer_json(self, path: str) -> tuple[int, str, bytes]:
        code, body = self.answer(path)
        return code, "application/json", json.dumps(body).encode()

    def _status(self, code: int, reason: str, message: str) -> tuple[int, dict]:
        return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message, "reason": reason, "code": code}

    def answer(self, raw_path: str) -> tuple[int, dict]:
        rt = self.rt
        split = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        parts = [p for p in split.path.split("/") if p]
        gv = f"{rt.group}/{rt.version}"
        group = {"name": rt.group, "versions": [{"groupVersion": gv, "version": rt.version}],
                 "preferredVersion": {"groupVersion": gv, "version": rt.version}}
        if parts in (["healthz"], ["readyz"], ["livez"]):
            return 200, {"status": "ok"}
        if parts == ["apis"]:
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group]}
        if parts == ["apis", rt.group]:
            return 200, {"kind": "APIGroup", "apiVersion": "v1", **group}
        if parts == ["apis", rt.group, rt.version]:
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": [
                {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
                 "verbs": list(rt.verbs)}]}
        if parts[:3] != ["apis", rt.group, rt.version]:
            return self._status(404, "NotFound", "the server could not find the requested resource")
        rest, namespace = parts[3:], None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or rest[0] != rt.plural or len(rest) > 2:
            return self._status(404, "NotFound", "the server could not find the requested resource")
        if len(rest) == 2:
            obj = self.get(rest[1], namespace)
            if obj is None:
                return self._status(404, "NotFound", f'{rt.plural}.{rt.group} "{rest[1]}" not found')
            return 200, obj
        try:
            wanted = parse_label_selector(query.get("labelSelector"))
            fields = parse_field_selector(query.get("fieldSelector"))
        except ApiError as exc:
            return self._status(exc.code, exc.reason, exc.message)
        items = [obj for obj in self.list_(namespace)
                 if labels_match((obj.get("metadata") or {}).get("labels") or {}, wanted) and fields_match(obj, fields)]
        return 200, {"kind": rt.list_kind_name, "apiVersion": gv, "metadata": {"resourceVersion": "1"},
                     "items": items}

    # ------------------------------------------------------------------ registration

    def register(self, store) -> None:
        rt = self.rt
        name = f"{rt.plural}-api"
        store.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": SERVICE_NAMESPACE},
                      "spec": {"type": "ExternalName", "externalName": "localhost",
                               "ports": [{"name": "https", "port": self.port, "protocol": "TCP"}]}},
                     manager=MANAGER)
        store.create({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                      "metadata": {"name": f"{rt.version}.{rt.group}"},
                      "spec": {"group": rt.group, "version": rt.version, "insecureSkipTLSVerify": True,
                               "groupPriorityMinimum": 2000, "versionPriority": 15,
                               "service": {"namespace": SERVICE_NAMESPACE, "name": name, "port": self.port}}},
                     manager=MANAGER)
        self._served(store)

    def _served(self, store, timeout: float = 30.0) -> None:
        """Wait until the API server lists the API in its discovery (its aggregator looks every few seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                store.resource(self.rt.api_version, self.rt.kind)
                return
            except ApiError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
