# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A small JSON view of the Kubernetes API for our modules.

The client comes from kubernetes.core (same auth options and ``K8S_AUTH_*``
environment variables as its modules); this wrapper only turns requests into
plain dicts and failures into ``ApiError``. Also here: the module setup and
connection boilerplate, ``read`` and the API path builder.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.parodos.orchestrator.plugins.module_utils import waiter

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import (
        AUTH_ARG_SPEC,
    )
except ImportError:  # pragma: no cover - reported by the module
    AUTH_ARG_SPEC = {}


FIELD_MANAGER = "parodos.orchestrator"
MANAGED_BY = "app.kubernetes.io/managed-by"
# The mark of the objects this collection creates (and so may change).
OWNERSHIP_LABELS = {MANAGED_BY: "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator"}


# How long a request is retried while the server answers with a transient
# failure, when the task gives no timeout of its own; and how long one request
# may take before it counts as dropped.
DEFAULT_RETRY_TIMEOUT = 120
REQUEST_TIMEOUT = 60


class ApiError(Exception):
    """An API call failed: ``status`` is the HTTP code, 0 when no answer.

    ``reason`` is the reason of the server's Status ("" when the answer was no
    Status, e.g. the plain-text 404 of a path no API serves); ``retry_after``
    the seconds the server asked to wait, or None.
    """

    def __init__(self, message, status=0, reason="", retry_after=None):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after

    @property
    def not_served(self):
        """A 404 that is not a Status: the path belongs to no API (a kind not served yet)."""
        return self.status == 404 and not self.reason


def _retry_after(exc):
    headers = getattr(exc, "headers", None) or {}
    try:
        value = headers.get("Retry-After") if hasattr(headers, "get") else None
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def api_error(exc):
    """An ApiError for an exception of the kubernetes client or of the connection."""
    if isinstance(exc, ApiError):
        return exc
    reason = ""
    body = getattr(exc, "body", None)
    if body:
        try:
            status_body = json.loads(body)
            if isinstance(status_body, dict) and status_body.get("kind") == "Status":
                reason = status_body.get("reason") or "Unknown"
        except (ValueError, TypeError):
            pass
    return ApiError(_short(exc), getattr(exc, "status", 0) or 0, reason, _retry_after(exc))


def retry_advice(exc):
    """None for a final failure; else the seconds to wait before asking again (0: no advice)."""
    if isinstance(exc, ApiError) and is_transient(exc.status):
        return exc.retry_after or 0
    return None


def auth_argument_spec(**options):
    """A copy of kubernetes.core's auth options, plus ``options``."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(options)
    return spec


def new_module(argument_spec):
    """kubernetes.core's module class (auth options, client) with check mode."""
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import (
        AnsibleK8SModule,
    )

    return AnsibleK8SModule(argument_spec=argument_spec, supports_check_mode=True)


# ------------------------------------------------------------------ paths


def group_version_path(api_version):
    """The discovery path of an apiVersion: /api/v1 for the core group."""
    return ("/apis/" if "/" in api_version else "/api/") + api_version


def api_path(api_version, plural, namespace="", name=""):
    """Path of a collection, or of the object ``name`` in it.

    ``namespace`` is given for namespaced kinds only.
    """
    path = group_version_path(api_version)
    if namespace:
        path += "/namespaces/" + namespace
    path += "/" + plural
    return path + "/" + name if name else path


# ------------------------------------------------------------------ requests


def _short(exc):
    """One line for a client or connection exception."""
    reason = getattr(exc, "reason", None)
    text = str(reason if reason is not None and not isinstance(reason, str) else exc)
    body = getattr(exc, "body", None)
    if body:
        try:
            text = json.loads(body).get("message") or text
        except (ValueError, TypeError, AttributeError):
            if isinstance(body, (str, bytes)):
                text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return " ".join(text.split())[:500]


def is_ours(obj):
    """Whether the object carries the collection's mark (the managed-by label)."""
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY) == OWNERSHIP_LABELS[MANAGED_BY]


def apply_merge_patch(current, patch):
    """``current`` with ``patch`` applied (RFC 7386), for diffs."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(current) if isinstance(current, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = apply_merge_patch(out.get(key), value)
    return out


def is_transient(status):
    """Whether a failure with this HTTP status is worth asking again: no answer, 408, 429, 500, 502, 503, 504."""
    return status in (0, 408, 429, 500, 502, 503, 504)


def timing_errors(timeout, sleep):
    """Messages for a negative ``timeout`` or a ``sleep`` that is not positive."""
    errors = []
    if timeout < 0:
        errors.append("timeout must not be negative")
    if sleep <= 0:
        errors.append("sleep must be greater than 0")
    return errors


def read(api, path, query=None):
    """GET path; None when it does not exist (404), other failures raise."""
    try:
        return api.get(path, query) if query else api.get(path)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


# Resources whose plural and scope are known without API discovery.
KNOWN_RESOURCES = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "Service"): ("services", True),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("apps/v1", "StatefulSet"): ("statefulsets", True),
    ("batch/v1", "Job"): ("jobs", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("networkpolicies", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", False),
}

# The custom resources the collection applies (their CRDs' plural and scope).
# A writer that reads them before writing tells "not served" from the plain
# 404 of the read (ApiError.not_served) and needs no discovery document.
KNOWN_CUSTOM_RESOURCES = {
    ("operator.knative.dev/v1beta1", "KnativeServing"): ("knativeservings", True),
    ("operator.knative.dev/v1beta1", "KnativeEventing"): ("knativeeventings", True),
    ("sonataflow.org/v1alpha08", "SonataFlowPlatform"): ("sonataflowplatforms", True),
    ("sonataflow.org/v1alpha08", "SonataFlowClusterPlatform"): ("sonataflowclusterplatforms", False),
    ("rhdh.redhat.com/v1alpha1", "Backstage"): ("backstages", True),
    ("argoproj.io/v1alpha1", "AppProject"): ("appprojects", True),
    ("argoproj.io/v1beta1", "ArgoCD"): ("argocds", True),
    ("tekton.dev/v1", "Task"): ("tasks", True),
    ("tekton.dev/v1", "Pipeline"): ("pipelines", True),
}


# Every kind whose plural and scope the collection knows without discovery.
RESOURCES = dict(KNOWN_RESOURCES)
RESOURCES.update(KNOWN_CUSTOM_RESOURCES)


def find_resource(discovery, kind):
    """The entry of an API discovery document (APIResourceList) for ``kind``, or None."""
    for entry in discovery.get("resources") or []:
        if entry.get("kind") == kind and "/" not in entry.get("name", ""):
            return entry
    return None


class Discovery:
    """Plural and scope of a kind: known ones directly, others from API discovery cached per apiVersion."""

    def __init__(self, api, known=None):
        self.api = api
        self.known = known or KNOWN_RESOURCES
        self.documents = {}

    def resource(self, api_version, kind):
        """((plural, namespaced), "") or (None, why) while the kind is not served."""
        known = self.known.get((api_version, kind))
        if known is not None:
            return known, ""
        if api_version not in self.documents:
            document = read(self.api, group_version_path(api_version))
            if document is None:
                return None, "API %s is not served" % api_version
            self.documents[api_version] = document
        entry = find_resource(self.documents[api_version], kind)
        if entry is None:
            del self.documents[api_version]  # read again next time: a CRD may add it
            return None, "kind %s is not served by %s" % (kind, api_version)
        return (entry["name"], bool(entry.get("namespaced"))), ""

    def path(self, api_version, kind, namespace="", name=""):
        """(path, namespaced, "") of an object, or of its collection without ``name``; or (None, None, why) while
        the kind is not served. The namespace is left out for a cluster-scoped kind."""
        resource, why = self.resource(api_version, kind)
        if resource is None:
            return None, None, why
        plural, namespaced = resource
        return api_path(api_version, plural, namespace if namespaced else "", name), namespaced, ""


def matches(obj, selector):
    """Whether an object's labels satisfy an equality-based label selector (``a=b,c=d``)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for part in selector.split(","):
        key, _sep, value = part.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def find_objects(api, discovery, api_version, kind, namespace="", name="", label_selector=""):
    """(plural, objects): the object ``name`` (when it exists and its labels satisfy ``label_selector``,
    equality-based then), or every object of the kind that the server finds for ``label_selector`` in
    ``namespace`` (every namespace when empty; the namespace is ignored for a cluster-scoped kind).
    ("", []) when the kind is not served; a failed read raises ApiError."""
    resource, _why = discovery.resource(api_version, kind)
    if resource is None:
        return "", []
    plural, namespaced = resource
    namespace = namespace if namespaced else ""
    query = {"labelSelector": label_selector} if label_selector and not name else None
    try:
        found = api.get(api_path(api_version, plural, namespace, name), query) if query else \
            api.get(api_path(api_version, plural, namespace, name))
    except ApiError as exc:
        if exc.status != 404:
            raise
        # a Status NotFound: no such object; a plain 404: the kind (known without discovery) is not served
        return ("", []) if exc.not_served else (plural, [])
    if name:
        return plural, [found] if found is not None and (not label_selector or matches(found, label_selector)) else []
    return plural, (found or {}).get("items") or []


class _Transport:
    """What the kubernetes dynamic client's ``request`` needs of its object: the ApiClient."""

    def __init__(self, api_client):
        self.client = api_client
        self.configuration = api_client.configuration


def _dynamic_request(api_client, method, path, body, params):
    """One request through the kubernetes dynamic client's ``request``, without its API discovery."""
    from kubernetes.dynamic import DynamicClient

    return DynamicClient.request(_Transport(api_client), method, path, body=body, **params)


class Api:
    """GET/POST/PATCH/DELETE JSON through the kubernetes client.

    Every request is retried while the answer may change a moment later (no
    answer, 408, 429, 5xx; Retry-After honoured) until ``deadline``; any other
    failure raises ``ApiError`` at once. ``requests`` counts what was sent.
    """

    def __init__(self, api_client, deadline=None):
        self._client = api_client
        self.host = api_client.configuration.host
        self.deadline = deadline or waiter.Deadline(DEFAULT_RETRY_TIMEOUT)
        self.requests = 0

    def _send(self, method, path, body, query, content_type):
        self.requests += 1
        params = {"serialize": False, "_request_timeout": REQUEST_TIMEOUT}
        if query:
            params["query_params"] = list(query)
        if content_type:
            params["content_type"] = content_type
        try:
            response = _dynamic_request(self._client, method, path, body, params)
        except Exception as exc:  # the client raises many kinds; all mean "failed"
            raise api_error(exc) from exc
        data = getattr(response, "data", response)
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        return json.loads(data) if isinstance(data, str) and data else (data or {})

    def _request(self, method, path, body=None, query=None, content_type=None):
        """One request, retried while the failure is transient; ``query`` is a list of (name, value) pairs."""
        return waiter.retry(lambda: self._send(method, path, body, query, content_type), self.deadline,
                            retry_advice)

    def get(self, path, query=None):
        return self._request("GET", path, query=list((query or {}).items()))

    def post(self, path, body):
        return self._request("POST", path, body=body)

    def _write(self, method, path, body, content_type, dry_run):
        query = [("fieldManager", FIELD_MANAGER)]
        if dry_run:
            query.append(("dryRun", "All"))
        return self._request(method, path, body=body, query=query, content_type=content_type)

    def create(self, path, body, dry_run=False):
        """POST ``body`` to a collection path; ``dry_run`` sends dryRun=All."""
        return self._write("POST", path, body, "application/json", dry_run)

    def merge_patch(self, path, body, dry_run=False):
        """JSON merge patch of an object path; ``dry_run`` sends dryRun=All."""
        return self._write("PATCH", path, body, "application/merge-patch+json", dry_run)

    def delete(self, path, dry_run=False):
        """DELETE an object path, dependents in the background; ``dry_run`` sends dryRun=All."""
        query = [("propagationPolicy", "Background")]
        if dry_run:
            query.append(("dryRun", "All"))
        return self._request("DELETE", path, query=query)


# ------------------------------------------------------------------ connecting


def _api_client(module):
    """A kubernetes ApiClient built from kubernetes.core's auth options, without API discovery."""
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client as kc

    try:
        auth = kc._create_auth_spec(module)
        configuration = kc._create_configuration(auth)
        headers = kc._create_headers(module)
    except AttributeError:  # pragma: no cover - a kubernetes.core without these helpers
        return kc.get_api_client(module=module).client.client
    import kubernetes

    api_client = kubernetes.client.ApiClient(configuration)
    for header, value in headers.items():
        kc._set_header(api_client, header, value)
    return api_client


def connect(module, timeout=None):
    """(Api, None) or (None, (message, status, host)) when no client could be built.

    Requests of the Api are retried while transient until ``timeout`` seconds
    from now (the module's ``wait_timeout`` when it has one).
    """
    if timeout is None:
        timeout = module.params.get("wait_timeout") or DEFAULT_RETRY_TIMEOUT
    host = module.params.get("host")
    try:
        api_client = _api_client(module)
    except Exception as exc:  # configuration and auth errors alike
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        return None, (_short(cause), getattr(exc, "status", 0) or 0, host)
    return Api(api_client, waiter.Deadline(max(timeout, 1))), None


def unreachable(host, reason):
    """The message for a cluster that could not be reached."""
    return "Cannot reach the Kubernetes API at %s: %s" % (host, reason)


def connect_or_fail(module, **result):
    """``connect()``'s Api; fails the task (with ``result``) when there is none."""
    api, failure = connect(module)
    if api is None:
        module.fail_json(msg=unreachable(failure[2], failure[0]), **result)
    return api
