# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A small JSON view of the Kubernetes API for our modules.

The client comes from kubernetes.core (same auth options and ``K8S_AUTH_*``
environment variables as its modules); this wrapper only turns requests into
plain dicts and failures into ``ApiError``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.parodos.orchestrator.plugins.module_utils.preflight import (
    ApiError,
)

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import (
        AUTH_ARG_SPEC,
    )
except ImportError:  # pragma: no cover - reported by the module
    AUTH_ARG_SPEC = {}


FIELD_MANAGER = "parodos.orchestrator"


def auth_argument_spec():
    """A copy of kubernetes.core's auth options."""
    return copy.deepcopy(AUTH_ARG_SPEC)


def _short(exc):
    """One line for a client or connection exception."""
    reason = getattr(exc, "reason", None)
    text = str(reason if reason is not None and not isinstance(reason, str) else exc)
    body = getattr(exc, "body", None)
    if body:
        try:
            text = json.loads(body).get("message") or text
        except (ValueError, TypeError, AttributeError):
            pass
    return " ".join(text.split())[:500]


class Api:
    """GET/POST JSON through a kubernetes.core dynamic client."""

    def __init__(self, k8s_client):
        self._client = k8s_client.client
        self.host = k8s_client.configuration.host

    def _request(self, method, path, body=None, query=None):
        params = {"serialize": False}
        if query:
            params["query_params"] = list(query.items())
        try:
            response = self._client.request(method, path, body=body, **params)
        except Exception as exc:  # the client raises many kinds; all mean "failed"
            raise ApiError(_short(exc), getattr(exc, "status", 0) or 0) from exc
        data = getattr(response, "data", response)
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        return json.loads(data) if isinstance(data, str) and data else (data or {})

    def get(self, path, query=None):
        return self._request("GET", path, query=query)

    def post(self, path, body):
        return self._request("POST", path, body=body)

    def _write(self, method, path, body, content_type, dry_run):
        query = [("fieldManager", FIELD_MANAGER)]
        if dry_run:
            query.append(("dryRun", "All"))
        try:
            response = self._client.request(method, path, body=body, serialize=False,
                                            query_params=query, content_type=content_type)
        except Exception as exc:  # the client raises many kinds; all mean "failed"
            raise ApiError(_short(exc), getattr(exc, "status", 0) or 0) from exc
        data = getattr(response, "data", response)
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        return json.loads(data) if isinstance(data, str) and data else (data or {})

    def create(self, path, body, dry_run=False):
        """POST ``body`` to a collection path; ``dry_run`` sends dryRun=All."""
        return self._write("POST", path, body, "application/json", dry_run)

    def merge_patch(self, path, body, dry_run=False):
        """JSON merge patch of an object path; ``dry_run`` sends dryRun=All."""
        return self._write("PATCH", path, body, "application/merge-patch+json", dry_run)


def connect(module):
    """(Api, None) or (None, (message, status, host)) when no client could be built.

    Building the client already talks to the server (discovery), so an
    unreachable cluster shows up here.
    """
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import (
        get_api_client,
    )

    host = module.params.get("host")
    try:
        return Api(get_api_client(module=module)), None
    except Exception as exc:  # connection, config and auth errors alike
        status = getattr(exc, "status", 0) or 0
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        return None, (_short(cause), status or getattr(cause, "status", 0) or 0, host)
