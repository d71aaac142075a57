"""The one fake Kubernetes API and the one fake clock of the unit tests.

``FakeApi`` imitates ``plugins/module_utils/k8s.py``'s ``Api`` (get, post,
create, merge_patch, delete) over an in-memory object store keyed by API path:

- ``objects`` maps a path to what a GET of it answers: an object
  (``/api/v1/namespaces/ns/secrets/s``), a discovery document (``/apis/apps/v1``)
  or any other body. A collection path with nothing stored at it answers a list
  of the objects under it (all namespaces when the path names none), filtered by
  ``labelSelector`` and ``fieldSelector`` (``metadata.name``/``metadata.namespace``).
  An object path may end in ``#tag`` to hold a namesake: listed with the others,
  never answered by name (the package server's PackageManifests, whose names
  repeat when several catalogs offer one package: a GET by name answers one).
- A resource is served when it is a built-in one (``BUILTIN``), listed by a
  discovery document in the store, named in ``served`` or holds a stored object.
  A missing object of a served resource is ``ApiError(status=404, reason="NotFound")``;
  any other missing path is a 404 without reason (what the server answers for an
  API it does not serve).
- Writes behave like the API server's: a create in a namespace that does not
  exist or is terminating fails, an existing name is a 409 AlreadyExists, a
  merge patch carrying a stale ``metadata.resourceVersion`` is a 409 Conflict,
  a delete of an object with finalizers only marks it (``deletionTimestamp``),
  a patch that takes the last finalizer off a marked object removes it. A dry
  run checks the same and stores nothing. Writes set ``resourceVersion`` (and
  ``uid``/``namespace`` on create); a Secret's ``stringData`` is stored
  base64-encoded in its ``data``, and a created Secret's ``type`` defaults to Opaque.
- ``fail`` and ``inject`` make requests fail (an ApiError, an HTTP status or a
  function of the request); ``lose_answers`` serves requests, then fails them
  (the change made, the answer lost); ``on_request`` runs a function before every
  matching request (a controller acting on the store).
- ``requests`` logs every request as a ``Request``; ``calls``, ``paths``,
  ``writes`` and ``bodies`` are views of it.

``Clock`` is monotonic time that only ``sleep`` advances; ``at`` and
``on_sleep`` make things happen as it passes.
"""

import base64
import collections
import copy
import heapq
import itertools

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s, waiter
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import (
    ApiError,
)

HOST = "https://api.example.test:6443"
DELETION_TIME = "2026-01-01T00:00:00Z"

# Resources every cluster serves, by group-version path.
BUILTIN = {
    "/api/v1": {"namespaces", "secrets", "configmaps", "services", "serviceaccounts", "pods", "nodes",
                "persistentvolumeclaims", "events", "endpoints"},
    "/apis/apps/v1": {"deployments", "statefulsets", "replicasets", "daemonsets"},
    "/apis/batch/v1": {"jobs", "cronjobs"},
    "/apis/networking.k8s.io/v1": {"networkpolicies", "ingresses"},
    "/apis/rbac.authorization.k8s.io/v1": {"roles", "rolebindings", "clusterroles", "clusterrolebindings"},
    "/apis/apiextensions.k8s.io/v1": {"customresourcedefinitions"},
    "/apis/storage.k8s.io/v1": {"storageclasses"},
}

# The reason of the Status the API server sends with an HTTP status.
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
           408: "Timeout", 409: "Conflict", 410: "Expired", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


class Request(collections.namedtuple("Request", "method path query body dry_run at")):
    """One request as the fake received it; ``at`` is the clock's time (None without a clock)."""


def parse(path):
    """(group-version path, namespace, plural, name) of an API path; None for what is not one.

    ``namespace`` is None for a cluster-scoped path or a list over all namespaces.
    """
    parts = path.strip("/").split("/")
    if parts[:1] == ["api"] and len(parts) >= 2:
        gv, rest = "/" + "/".join(parts[:2]), parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        gv, rest = "/" + "/".join(parts[:3]), parts[3:]
    else:
        return None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    else:
        namespace = None
    if not rest or len(rest) > 2:
        return None
    return gv, namespace, rest[0], rest[1] if len(rest) == 2 else None


def collection_of(path):
    """The collection path of an object path."""
    return path.rsplit("/", 1)[0]


def merge(target, patch):
    """RFC 7386 JSON merge patch of ``target`` (a copy)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def selector_matches(selector, labels):
    """Whether ``labels`` match a label selector (``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, comma-joined)."""
    labels = labels or {}
    for term in (t.strip() for t in (selector or "").split(",")):
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def fields_match(selector, obj):
    """Whether ``obj`` matches a field selector on metadata.name / metadata.namespace."""
    meta = obj.get("metadata") or {}
    for term in (t.strip() for t in (selector or "").split(",")):
        if not term:
            continue
        field, value = term.split("=", 1)
        if meta.get(field.split(".", 1)[1]) != value.lstrip("="):
            return False
    return True


def as_error(answer, request):
    """The ApiError an injected answer stands for (None: the request is served)."""
    if callable(answer) and not isinstance(answer, ApiError):
        answer = answer(request)
    if answer is None or isinstance(answer, ApiError):
        return answer
    return ApiError("injected %d" % answer if answer else "injected: connection reset", answer,
                    REASONS.get(answer, ""))


def as_stored(path, obj, created):
    """``obj`` (changed in place) as the server stores it at ``path``: a Secret's stringData in its data."""
    parsed = parse(path)
    if not parsed or parsed[::2] != ("/api/v1", "secrets"):
        return obj
    string_data = obj.pop("stringData", None)
    if string_data:
        data = dict(obj.get("data") or {})
        data.update((key, base64.b64encode(str(value).encode()).decode()) for key, value in string_data.items())
        obj["data"] = data
    if created:
        obj.setdefault("type", "Opaque")
    return obj


def _answer(rules, request):
    """The error the first rule matching ``request`` answers (None: none, or the request is served)."""
    for rule in list(rules):
        if rule.matches(request):
            answer = rule.next()
            if rule.spent():
                rules.remove(rule)
            return as_error(answer, request)
    return None


class _Rule:
    def __init__(self, answers, method, path, forever=False):
        self.answers = answers if forever else collections.deque(answers)
        self.method = method
        self.path = path
        self.forever = forever

    def matches(self, request):
        if self.method is not None and request.method != self.method:
            return False
        if self.path is None:
            return True
        return self.path(request.path) if callable(self.path) else request.path == self.path

    def next(self):
        if self.forever:
            return self.answers
        return self.answers.popleft()

    def spent(self):
        return not self.forever and not self.answers


class FakeApi:
    """An in-memory Kubernetes API with the interface of ``k8s.Api`` (see the module docstring)."""

    host = HOST

    def __init__(self, objects=None, served=(), clock=None, host=None, namespaces=()):
        """``objects``: path -> body (copied); ``served``: extra collection paths
        (``/apis/route.openshift.io/v1/routes``) that answer even when empty;
        ``namespaces``: names of Namespaces to add to the store."""
        self.objects = copy.deepcopy(dict(objects or {}))
        for name in namespaces:
            self.objects.setdefault("/api/v1/namespaces/" + name, {"metadata": {"name": name}})
        self.served = set()
        for path in served:
            gv, dummy, plural, dummy2 = parse(path)
            self.served.add((gv, plural))
        self.clock = clock
        if host is not None:
            self.host = host
        self.requests = []
        self.post_handlers = {}
        self._rules = []
        self._lost = []
        self._hooks = []
        self._version = itertools.count(1)

    # ------------------------------------------------------------ test controls

    def fail(self, error, method=None, path=None, times=None):
        """Answer matching requests with ``error`` (ApiError, HTTP status, or function of the Request).

        ``path`` is an exact path or a predicate; ``times`` limits how many requests fail (None: all).
        """
        if times is None:
            self._rules.append(_Rule(error, method, path, forever=True))
        else:
            self._rules.append(_Rule([error] * times, method, path))

    def inject(self, answers, method=None, path=None):
        """Answer the next matching requests in turn: an error fails one, None lets one be served."""
        self._rules.append(_Rule(list(answers), method, path))

    def lose_answers(self, error=0, method=None, path=None, times=1):
        """Serve the next ``times`` matching requests, then fail each with ``error`` (default: no answer).

        The request takes effect, the client learns nothing of it: a connection
        dropped on the way back, which k8s.Api retries.
        """
        self._lost.append(_Rule([error] * times, method, path))

    def pending(self):
        """How many injected or lost answers no request has met yet (failing-forever rules excluded)."""
        return sum(len(rule.answers) for rule in self._rules + self._lost if not rule.forever)

    def on_request(self, action, method=None, path=None, times=None):
        """Run ``action(api)`` before each matching request is served (the first ``times`` ones only)."""
        self._hooks.append([action, _Rule(None, method, path, forever=True), times])

    def answer_post(self, path, handler):
        """POSTs to ``path`` answer ``handler(body)`` (reviews: SelfSubjectAccessReview, ...)."""
        self.post_handlers[path] = handler

    # ------------------------------------------------------------ views of the log

    def calls(self, *fields):
        """The log as tuples of ``fields`` (default: method, path)."""
        fields = fields or ("method", "path")
        return [tuple(getattr(r, f) for f in fields) for r in self.requests]

    def paths(self, method=None):
        return [r.path for r in self.requests if method is None or r.method == method]

    def writes(self):
        """(method, path, dry_run) of every request but GETs."""
        return [(r.method, r.path, r.dry_run) for r in self.requests if r.method != "GET"]

    def bodies(self):
        """The bodies of every write, in order."""
        return [r.body for r in self.requests if r.method not in ("GET", "DELETE")]

    def under(self, collection):
        """path -> object of what is stored directly under a collection path."""
        return {p: o for p, o in self.objects.items() if collection_of(p) == collection}

    # ------------------------------------------------------------ the store

    def _begin(self, method, path, query=None, body=None, dry_run=False):
        request = Request(method, path, dict(query) if query else None, copy.deepcopy(body), dry_run,
                          self.clock() if self.clock else None)
        self.requests.append(request)
        for hook in list(self._hooks):
            action, rule, times = hook
            if rule.matches(request):
                if times is not None:
                    hook[2] -= 1
                    if hook[2] <= 0:
                        self._hooks.remove(hook)
                action(self)
        error = _answer(self._rules, request)
        if error is not None:
            raise error
        return request

    def _end(self, request, answer):
        """What a served request answers, unless its answer is to be lost."""
        error = _answer(self._lost, request)
        if error is not None:
            raise error
        return answer

    def is_served(self, gv, plural):
        document = self.objects.get(gv)
        if isinstance(document, dict) and plural in {r.get("name") for r in document.get("resources") or []}:
            return True
        if plural in BUILTIN.get(gv, ()) or (gv, plural) in self.served:
            return True
        return any(parsed[:3:2] == (gv, plural) for parsed in map(parse, self.objects) if parsed)

    def _not_found(self, path):
        parsed = parse(path)
        if parsed and self.is_served(parsed[0], parsed[2]):
            return ApiError('%s "%s" not found' % (parsed[2], parsed[3] or ""), 404, "NotFound")
        return ApiError("the server could not find the requested resource", 404)

    def _list(self, path, query):
        gv, namespace, plural, dummy = parse(path)
        items = []
        for obj_path, obj in sorted(self.objects.items()):
            parsed = parse(obj_path)
            if not parsed or parsed[3] is None or (parsed[0], parsed[2]) != (gv, plural):
                continue
            if namespace is not None and parsed[1] != namespace:
                continue
            if not isinstance(obj, dict):
                continue
            if not selector_matches((query or {}).get("labelSelector"), (obj.get("metadata") or {}).get("labels")):
                continue
            if not fields_match((query or {}).get("fieldSelector"), obj):
                continue
            items.append(copy.deepcopy(obj))
        return {"items": items}

    def get(self, path, query=None):
        request = self._begin("GET", path, query)
        if path in self.objects:
            return self._end(request, copy.deepcopy(self.objects[path]))
        parsed = parse(path)
        if parsed and parsed[3] is None and self.is_served(parsed[0], parsed[2]):
            return self._end(request, self._list(path, query))
        raise self._not_found(path)

    def post(self, path, body):
        """A POST: what ``answer_post`` set for the path, else a create."""
        if path in self.post_handlers:
            request = self._begin("POST", path, body=body)
            return self._end(request, self.post_handlers[path](copy.deepcopy(body)))
        return self._create("POST", path, body, False)

    def create(self, path, body, dry_run=False):
        return self._create("POST", path, body, dry_run)

    def _create(self, method, path, body, dry_run):
        request = self._begin(method, path, body=body, dry_run=dry_run)
        parsed = parse(path)
        if not parsed or parsed[3] is not None or not self.is_served(parsed[0], parsed[2]):
            raise ApiError("the server could not find the requested resource", 404)
        gv, namespace, plural, dummy = parsed
        meta = (body or {}).get("metadata") or {}
        name = meta.get("name")
        if not name:
            raise ApiError("%s: metadata.name: Required value" % plural, 422, "Invalid")
        if meta.get("namespace") and namespace and meta["namespace"] != namespace:
            raise ApiError("the namespace of the object does not match the namespace on the request", 400,
                           "BadRequest")
        if namespace is not None:
            ns = self.objects.get("/api/v1/namespaces/" + namespace)
            if ns is None:
                raise ApiError('namespaces "%s" not found' % namespace, 404, "NotFound")
            if (ns.get("metadata") or {}).get("deletionTimestamp"):
                raise ApiError("unable to create new content in namespace %s because it is being terminated"
                               % namespace, 403, "Forbidden")
        target = path + "/" + name
        if target in self.objects:
            raise ApiError('%s "%s" already exists' % (plural, name), 409, "AlreadyExists")
        obj = copy.deepcopy(body)
        obj["metadata"] = dict(obj.get("metadata") or {}, uid="uid-" + name,
                               resourceVersion=str(next(self._version)))
        if namespace is not None:
            obj["metadata"]["namespace"] = namespace
        as_stored(path, obj, True)
        if not dry_run:
            self.objects[target] = obj
        return self._end(request, copy.deepcopy(obj))

    def merge_patch(self, path, body, dry_run=False):
        request = self._begin("PATCH", path, body=body, dry_run=dry_run)
        if path not in self.objects:
            raise self._not_found(path)
        current = self.objects[path]
        wanted = ((body or {}).get("metadata") or {}).get("resourceVersion")
        have = (current.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != have:
            parsed = parse(path)
            raise ApiError('Operation cannot be fulfilled on %s "%s": the object has been modified; please apply '
                           "your changes to the latest version and try again" % (parsed[2], parsed[3]), 409,
                           "Conflict")
        obj = as_stored(path, merge(current, body), False)
        obj.setdefault("metadata", {})["resourceVersion"] = str(next(self._version))
        if not dry_run:
            if obj["metadata"].get("deletionTimestamp") and not obj["metadata"].get("finalizers"):
                del self.objects[path]
            else:
                self.objects[path] = obj
        return self._end(request, copy.deepcopy(obj))

    def delete(self, path, dry_run=False):
        request = self._begin("DELETE", path, dry_run=dry_run)
        if path not in self.objects:
            raise self._not_found(path)
        obj = self.objects[path]
        meta = obj.setdefault("metadata", {}) if not dry_run else obj.get("metadata") or {}
        if not meta.get("finalizers"):
            if not dry_run:
                del self.objects[path]
            return self._end(request, {"kind": "Status", "status": "Success"})
        if not dry_run and not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = DELETION_TIME
        return self._end(request, copy.deepcopy(obj))


class Clock:
    """Monotonic seconds that only ``sleep`` advances; pass ``clock`` and ``clock.sleep`` to the code.

    ``slept`` lists every sleep in order.
    """

    def __init__(self, now=0.0):
        self.now = float(now)
        self.start = self.now
        self.slept = []
        self._events = []
        self._order = itertools.count()
        self._on_sleep = []

    def __call__(self):
        return self.now

    monotonic = __call__

    def elapsed(self):
        return self.now - self.start

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds
        self._fire()
        for action in list(self._on_sleep):
            action()

    def at(self, when, action):
        """Run ``action()`` once the time reaches ``when`` (at once when it has)."""
        heapq.heappush(self._events, (when, next(self._order), action))
        self._fire()

    def after(self, seconds, action):
        """Run ``action()`` ``seconds`` from now."""
        self.at(self.now + seconds, action)

    def on_sleep(self, action):
        """Run ``action()`` after every sleep."""
        self._on_sleep.append(action)

    def _fire(self):
        while self._events and self._events[0][0] <= self.now:
            heapq.heappop(self._events)[2]()


class _Client:
    """The little of a kubernetes ApiClient that k8s.Api reads itself."""

    def __init__(self, host):
        self.configuration = type("Configuration", (), {"host": host})()


def real_api(fake, monkeypatch, clock=None, timeout=k8s.DEFAULT_RETRY_TIMEOUT):
    """A real ``k8s.Api`` whose requests reach ``fake`` (a FakeApi or anything with its methods).

    What k8s.Api adds, retrying transient failures with backoff until its deadline,
    runs on ``clock`` (a new Clock when None), so it sleeps no real time.
    """
    clock = clock or Clock()

    def request(api_client, method, path, body, params):
        query = dict(params.get("query_params") or [])
        dry_run = query.pop("dryRun", None) == "All"
        if method == "GET":
            return fake.get(path, query or None)
        if method == "POST":
            if "fieldManager" in query:
                return fake.create(path, body, dry_run=dry_run)
            return fake.post(path, body)
        if method == "PATCH":
            return fake.merge_patch(path, body, dry_run=dry_run)
        if method == "DELETE":
            return fake.delete(path, dry_run=dry_run)
        raise AssertionError("unexpected %s %s" % (method, path))

    monkeypatch.setattr(k8s, "_dynamic_request", request)
    return k8s.Api(_Client(getattr(fake, "host", HOST)), waiter.Deadline(timeout, clock, clock.sleep))


# ------------------------------------------------------------------ a ready OpenShift cluster for preflight

PACKAGES = {
    "serverless-operator": ["stable", "stable-1.33"],
    "logic-operator-rhel8": ["alpha"],
    "rhdh": ["fast", "fast-1.3"],
}
CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
PM = "/apis/packages.operators.coreos.com/v1/namespaces/openshift-marketplace/packagemanifests/"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def api_resources(group_version, names):
    """An APIResourceList with namespaced resources ``names``."""
    return {"kind": "APIResourceList", "groupVersion": group_version,
            "resources": [{"name": n, "namespaced": True} for n in names]}


def crd(name, versions=("v1",)):
    return {"metadata": {"name": name},
            "spec": {"versions": [{"name": v, "served": True} for v in versions]}}


def healthy_routes():
    """Path -> JSON body of a ready OpenShift 4.16 cluster."""
    routes = {
        "/version": {"gitVersion": "v1.29.7+abc"},
        "/apis/config.openshift.io/v1/clusterversions/version": {
            "status": {"history": [{"state": "Partial", "version": "4.17.0"},
                                   {"state": "Completed", "version": "4.16.8"}]}},
        "/apis/config.openshift.io/v1/ingresses/cluster": {"spec": {"domain": "apps.example.test"}},
        "/apis/storage.k8s.io/v1/storageclasses": {"items": [
            {"metadata": {"name": "slow"}},
            {"metadata": {"name": "gp3", "annotations": {
                "storageclass.kubernetes.io/is-default-class": "true"}}}]},
        "/api/v1/nodes": {"items": [
            {"metadata": {"name": "n1", "labels": {"kubernetes.io/arch": "amd64"}}},
            {"metadata": {"name": "n2", "labels": {"kubernetes.io/arch": "arm64"}}}]},
        "/apis/operators.coreos.com/v1alpha1/namespaces/openshift-marketplace/catalogsources/redhat-operators": {
            "status": {"connectionState": {"lastObservedState": "READY"}}},
    }
    # OLM's served group versions (discovery documents)
    routes["/apis/operators.coreos.com/v1alpha1"] = api_resources("operators.coreos.com/v1alpha1", [
        "catalogsources", "clusterserviceversions", "clusterserviceversions/status",
        "installplans", "subscriptions", "subscriptions/status"])
    routes["/apis/operators.coreos.com/v1"] = api_resources("operators.coreos.com/v1", ["olmconfigs", "operatorgroups"])
    for pkg, channels in PACKAGES.items():
        routes[PM + pkg] = {"metadata": {"name": pkg}, "status": {
            "catalogSource": "redhat-operators", "defaultChannel": channels[0],
            "channels": [{"name": c} for c in channels]}}
    return routes


def add_gitops(routes, tekton=True, instance="argocd"):
    routes[CRD + "appprojects.argoproj.io"] = crd("appprojects.argoproj.io", ("v1alpha1",))
    routes[CRD + "argocds.argoproj.io"] = crd("argocds.argoproj.io", ("v1alpha1", "v1beta1"))
    routes["/apis/argoproj.io/v1beta1/namespaces/orchestrator-gitops/argocds"] = {
        "items": [{"metadata": {"name": instance}}] if instance else []}
    if tekton:
        routes[CRD + "tasks.tekton.dev"] = crd("tasks.tekton.dev", ("v1beta1", "v1"))
        routes[CRD + "pipelines.tekton.dev"] = crd("pipelines.tekton.dev", ("v1beta1", "v1"))
    return routes


def preflight_api(routes=None, allowed=True, unreachable=False):
    """A FakeApi serving ``routes`` (healthy_routes() by default; an ApiError value makes its path fail),
    answering access reviews with ``allowed``; ``unreachable``: no request gets an answer."""
    routes = healthy_routes() if routes is None else routes
    api = FakeApi({path: body for path, body in routes.items() if not isinstance(body, ApiError)})
    for path, body in routes.items():
        if isinstance(body, ApiError):
            api.fail(body, path=path)
    if unreachable:
        api.fail(ApiError("connection refused", 0))
    api.answer_post(SSAR, lambda body: dict(body, status={"allowed": allowed}))
    return api
