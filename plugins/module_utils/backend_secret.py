# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The backend Secret of Red Hat Developer Hub: which keys, with which values.

``decide`` turns the wanted values into a step for ``secrets.ensure``;
``read_token`` and ``find_argocd`` read the values that come from other
objects. Reports carry key names only, never a value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import secrets
import time

from ansible_collections.parodos.orchestrator.plugins.module_utils import (
    k8s,
    secrets as sec,
    waiter,
)

# Logical key -> key name in the Secret (the names of the 1.3 release).
DEFAULT_KEYS = {
    "backend_secret": "BACKEND_SECRET",
    "cluster_url": "K8S_CLUSTER_URL",
    "cluster_token": "K8S_CLUSTER_TOKEN",
    "github_token": "GITHUB_TOKEN",
    "github_client_id": "GITHUB_CLIENT_ID",
    "github_client_secret": "GITHUB_CLIENT_SECRET",
    "argocd_url": "ARGOCD_URL",
    "argocd_username": "ARGOCD_USERNAME",
    "argocd_password": "ARGOCD_PASSWORD",
    "email_hostname": "NOTIFICATIONS_EMAIL_HOSTNAME",
    "email_username": "NOTIFICATIONS_EMAIL_USERNAME",
    "email_password": "NOTIFICATIONS_EMAIL_PASSWORD",
}
LOGICAL_KEYS = tuple(DEFAULT_KEYS)
# Keys the ``remove_keys`` option may take out; the backend secret always stays.
REMOVABLE_KEYS = tuple(key for key in LOGICAL_KEYS if key != "backend_secret")
DEFAULT_BYTES = 48
MIN_BYTES = 32
# Records logical key -> key name of the keys the Secret holds, so that a
# renamed key can be moved and a removed one found on a later run.
KEYS_ANNOTATION = "parodos.orchestrator/backend-secret-keys"
TOKEN_TYPE = "kubernetes.io/service-account-token"
KEY_NAME = re.compile(r"^[-._a-zA-Z0-9]+$")


class Pending:
    """A value that exists only after a write skipped in check mode (a token not filled yet)."""

    def __repr__(self):
        return "PENDING"


PENDING = Pending()
PENDING_TEXT = "pending"


class TokenError(Exception):
    """The service account token could not be read."""


def token(nbytes=DEFAULT_BYTES):
    """A URL-safe random text made of ``nbytes`` random bytes."""
    if nbytes < MIN_BYTES:
        raise ValueError("a backend secret needs at least %d random bytes, not %d" % (MIN_BYTES, nbytes))
    return secrets.token_urlsafe(nbytes)


def key_names(option):
    """Logical key -> key name: ``option`` merged over the defaults; (names, errors)."""
    option = option or {}
    errors = ["keys: unknown logical key %s" % key for key in sorted(option) if key not in DEFAULT_KEYS]
    names = dict(DEFAULT_KEYS)
    names.update((k, v) for k, v in option.items() if k in DEFAULT_KEYS and v is not None)
    seen = {}
    for logical in LOGICAL_KEYS:
        name = names[logical]
        if not isinstance(name, str) or not KEY_NAME.match(name):
            errors.append("keys: %s must be a Secret key name (letters, digits, '-', '_', '.'), got %r"
                          % (logical, name))
        elif name in seen:
            errors.append("keys: %s and %s both use the key name %s" % (seen[name], logical, name))
        else:
            seen[name] = logical
    return names, errors


def recorded(meta):
    """Logical key -> key name recorded by an earlier run ({} when none or unreadable)."""
    text = ((meta or {}).get("annotations") or {}).get(KEYS_ANNOTATION) or ""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def wanted_values(params, cluster_url, cluster_token, argocd):
    """Logical key -> wanted value ("" = none) from the module's inputs.

    ``cluster_token`` is the token text, "" or PENDING; ``argocd`` is
    (url, password) of a found instance or None.
    """
    values = dict.fromkeys(LOGICAL_KEYS, "")
    values["backend_secret"] = params.get("backend_secret") or ""
    if cluster_token:
        values["cluster_token"] = cluster_token
        values["cluster_url"] = cluster_url or ""
    for logical in ("github_token", "github_client_id", "github_client_secret"):
        values[logical] = params.get(logical) or ""
    if argocd:
        values["argocd_url"], values["argocd_password"] = argocd
        values["argocd_username"] = (params.get("argocd") or {}).get("username") or ""
    email = params.get("email") or {}
    if email.get("enabled"):
        for field in ("hostname", "username", "password"):
            values["email_" + field] = email.get(field) or ""
    return values


def _empty_report():
    return {"changes": {}, "generated": [], "changed_keys": [], "added": [], "updated": [], "removed": []}


def removal_errors(remove, values=None):
    """Errors of the ``remove_keys`` option: unknown or unremovable logical keys, keys that also get a value.

    ``values`` are the wanted values (logical key -> value) of the same run, when known.
    """
    errors = []
    for logical in remove or ():
        if logical not in DEFAULT_KEYS:
            errors.append("remove_keys: unknown logical key %s (known: %s)" % (logical, ", ".join(REMOVABLE_KEYS)))
        elif logical not in REMOVABLE_KEYS:
            errors.append("remove_keys: %s cannot be removed: Red Hat Developer Hub needs it" % logical)
        elif (values or {}).get(logical):
            errors.append("remove_keys: %s also gets a value in this run; leave out the value or the removal"
                          % logical)
    return errors


def decide(existing, values, names, labels=None, adopt=False, nbytes=DEFAULT_BYTES, token_fn=token, remove=()):
    """The step for ``secrets.ensure``: new data, report, labels, annotation.

    A key with a value gets it. A key without one (an input left empty, a
    vault not loaded, ArgoCD not found, email disabled) keeps what the Secret
    holds: a key goes away only when its logical name is in ``remove``. A key
    renamed in ``names`` moves: its value (the given one, else the one stored
    under the name an earlier run recorded) goes to the new name and the old
    name is removed. Other keys of the Secret are kept. BACKEND_SECRET: the
    given value, else the stored one, else generated. An existing Secret
    without the collection's mark is left alone unless ``adopt``;
    ``differs`` then lists the key names that would change. Raises
    ValueError for a ``remove`` that ``removal_errors`` refuses.
    """
    errors = removal_errors(remove, values)
    if errors:
        raise ValueError("; ".join(errors))
    meta = (existing or {}).get("metadata") or {}
    decoded = sec.decode_data(existing.get("data")) if existing is not None else {}
    foreign = existing is not None and not k8s.is_ours(existing)
    record = {} if foreign else recorded(meta)
    current_names = set(names.values())
    given, pending, drop = {}, [], set()
    for logical in LOGICAL_KEYS:
        name, value = names[logical], values.get(logical) or ""
        old = record.get(logical)
        moved = decoded.get(old) if old and old != name and not decoded.get(name) else None
        if logical in remove:
            drop.update(key for key in (name, old) if key and (key == name or key not in current_names))
        elif value is PENDING:
            pending.append(name)
            if not decoded.get(name):
                given[name] = moved or PENDING_TEXT
        elif value:
            given[name] = value
        elif moved is not None:
            given[name] = moved  # a renamed key keeps its value
        elif logical == "backend_secret":
            given[name] = ""  # generated when the Secret has none
    renamed = set(record.values()) - current_names
    backend_key = names["backend_secret"]
    data, report = sec.plan(decoded if existing is not None else None, given, [(backend_key, nbytes)],
                            token_fn, sorted(drop | renamed))
    present = {logical: names[logical] for logical in LOGICAL_KEYS if names[logical] in data}
    wanted_labels = dict(labels or {})
    wanted_labels.update(k8s.OWNERSHIP_LABELS)
    step = dict(data=data, report=report, type="Opaque", labels=wanted_labels,
                annotations={KEYS_ANNOTATION: json.dumps(present, sort_keys=True, separators=(",", ":"))},
                write=True, adopted=False, reused=False, differs=[])
    if foreign:
        if adopt:
            step["adopted"] = True
        else:
            step.update(data=decoded, report=_empty_report(), write=False, reused=True,
                        differs=report["changed_keys"])
    return step


def foreign_warning(namespace, name, differs):
    """The warning for a Secret left alone; key names only."""
    text = ("Secret %s/%s exists without the collection's mark (label %s=%s): it was left as it is (set adopt to "
            "manage it)." % (namespace, name, k8s.MANAGED_BY, k8s.OWNERSHIP_LABELS[k8s.MANAGED_BY]))
    if differs:
        text += " Keys that differ from the wanted ones: %s." % ", ".join(differs)
    return text


def token_of(secret):
    """(token text, problem): the ``data.token`` of a service account token Secret."""
    if secret is None:
        return "", "it does not exist"
    kind = secret.get("type") or "Opaque"
    if kind != TOKEN_TYPE:
        raise TokenError("it has type %s, not %s" % (kind, TOKEN_TYPE))
    value = sec.decode_data({"token": (secret.get("data") or {}).get("token") or ""})["token"]
    if not value:
        return "", "it has no data.token yet (the token controller fills it for a ServiceAccount named in " \
                   "annotation kubernetes.io/service-account.name)"
    return value, ""


def read_token(api, namespace, name, timeout, check_mode=False, sleep=time.sleep, clock=time.monotonic,
               interval=1.0):
    """The token of Secret namespace/name, looking every ``interval`` seconds for up to ``timeout`` seconds.

    In check mode nothing is waited for: a token that is not there yet is
    PENDING (the play would create or fill it first). Raises TokenError.
    """
    path = k8s.api_path("v1", "secrets", namespace, name)
    problem = ""
    for _elapsed in waiter.polls(waiter.Deadline(timeout, clock, sleep), interval):
        try:
            value, problem = token_of(k8s.read(api, path))
        except (TokenError, k8s.ApiError) as exc:
            raise TokenError("Secret %s/%s: %s" % (namespace, name, exc)) from None
        if value:
            return value
        if check_mode:
            return PENDING
    raise TokenError("Secret %s/%s: %s after %s s" % (namespace, name, problem, timeout))


def pick_route(routes, instance):
    """The server Route of an ArgoCD instance among routes labelled for it, or None."""
    items = sorted((r for r in routes or [] if ((r.get("spec") or {}).get("host"))),
                   key=lambda r: (r.get("metadata") or {}).get("name") or "")
    for route in items:
        if route["metadata"].get("name") == instance + "-server":
            return route
    return items[0] if items else None


def find_argocd(api, namespace, instance):
    """((url, password), "") of an ArgoCD instance, or (None, why it was not found)."""
    query = {"labelSelector": "%s=%s" % (k8s.MANAGED_BY, instance)}
    try:
        listing = k8s.read(api, k8s.api_path("route.openshift.io/v1", "routes", namespace), query)
    except k8s.ApiError as exc:
        return None, "its Routes could not be read: %s" % exc
    route = pick_route((listing or {}).get("items"), instance)
    if route is None:
        return None, "no Route labelled %s=%s with a host in namespace %s" % (k8s.MANAGED_BY, instance, namespace)
    secret_name = instance + "-cluster"
    try:
        secret = k8s.read(api, k8s.api_path("v1", "secrets", namespace, secret_name))
    except k8s.ApiError as exc:
        return None, "Secret %s/%s could not be read: %s" % (namespace, secret_name, exc)
    password = sec.decode_data({"p": ((secret or {}).get("data") or {}).get("admin.password") or ""})["p"]
    if not password:
        return None, "Secret %s/%s has no key admin.password" % (namespace, secret_name)
    return ("https://" + route["spec"]["host"], password), ""


def argocd_warning(namespace, instance, why):
    """The warning for an ArgoCD instance that was not found."""
    return "ArgoCD instance %s in namespace %s not found (%s): no ArgoCD keys are written." % (
        instance, namespace, why)


# ------------------------------------------------------------------ the module


SECRET_KEYS = ("backend_secret", "cluster_token", "github_token", "github_client_secret", "argocd_password",
               "email_password")


def options():
    """The options of the backend_secret module, besides kubernetes.core's connection options."""
    key_options = {n: dict(type="str", no_log=False, default=DEFAULT_KEYS[n]) for n in LOGICAL_KEYS}
    return dict(
        name=dict(type="str", default="backstage-backend-auth-secret"),
        namespace=dict(type="str", required=True),
        labels=dict(type="dict", default={}),
        adopt=dict(type="bool", default=False),
        remove_keys=dict(type="list", elements="str", default=[], no_log=False, choices=list(REMOVABLE_KEYS)),
        keys=dict(type="dict", default={}, no_log=False, apply_defaults=True, options=key_options),
        backend_secret=dict(type="str", default="", no_log=True),
        backend_secret_bytes=dict(type="int", default=DEFAULT_BYTES, no_log=False),
        cluster_url=dict(type="str", default=""),
        cluster_token_secret=dict(
            type="dict", default={}, no_log=False, apply_defaults=True,
            options=dict(namespace=dict(type="str", default=""), name=dict(type="str", default=""))),
        wait_timeout=dict(type="int", default=60, aliases=["token_timeout"], no_log=False),
        wait_sleep=dict(type="float", default=1),
        github_token=dict(type="str", default="", no_log=True),
        github_client_id=dict(type="str", default=""),
        github_client_secret=dict(type="str", default="", no_log=True),
        argocd=dict(type="dict", default={}, apply_defaults=True, options=dict(
            enabled=dict(type="bool", default=False), namespace=dict(type="str", default=""),
            instance=dict(type="str", default="argocd"), username=dict(type="str", default="admin"))),
        email=dict(type="dict", default={}, apply_defaults=True, options=dict(
            enabled=dict(type="bool", default=False), hostname=dict(type="str", default=""),
            username=dict(type="str", default=""), password=dict(type="str", default="", no_log=True))),
    )


def check(params):
    """Errors of options that argument_spec cannot express."""
    errors = key_names(params["keys"])[1]
    token_secret, argocd = params["cluster_token_secret"], params["argocd"]
    # What this run would write, with stand-ins for the values read from the cluster.
    planned = wanted_values(params, "url", "token" if token_secret["name"] else "",
                            ("url", "password") if argocd["enabled"] else None)
    errors += removal_errors(params["remove_keys"], planned)
    for field in ("name", "namespace"):
        if not params[field]:
            errors.append("%s must not be empty" % field)
    if params["backend_secret_bytes"] < MIN_BYTES:
        errors.append("backend_secret_bytes must be at least %d, got %d"
                      % (MIN_BYTES, params["backend_secret_bytes"]))
    errors += k8s.timing_errors(params["wait_timeout"], params["wait_sleep"])
    if token_secret["name"] and not token_secret["namespace"]:
        errors.append("cluster_token_secret: namespace is required with a name")
    if argocd["enabled"] and not (argocd["namespace"] and argocd["instance"]):
        errors.append("argocd: namespace and instance are required when enabled")
    return errors


def ensure_secret(module, api, params, check_mode):
    """Read the inputs, ensure the Secret; return the result (key names only)."""
    inner = getattr(module, "_module", module)
    token_secret = params["cluster_token_secret"]
    token = ""
    if token_secret["name"]:
        token = read_token(api, token_secret["namespace"], token_secret["name"], params["wait_timeout"],
                           check_mode, interval=params["wait_sleep"])
    argocd = None
    if params["argocd"]["enabled"]:
        conf = params["argocd"]
        argocd, why = find_argocd(api, conf["namespace"], conf["instance"])
        if argocd is None:
            module.warn(argocd_warning(conf["namespace"], conf["instance"], why))
    # Values read from the cluster are hidden like the no_log options.
    inner.no_log_values.update(v for v in (token if isinstance(token, str) else "",
                                           argocd[1] if argocd else "") if len(v) >= 8)
    values = wanted_values(params, params["cluster_url"] or api.host, token, argocd)
    names = key_names(params["keys"])[0]

    def decide_step(existing):
        step = decide(existing, values, names, params["labels"], params["adopt"], params["backend_secret_bytes"],
                      remove=params["remove_keys"])
        data = step["data"]
        inner.no_log_values.update(data[names[k]] for k in SECRET_KEYS if len(data.get(names[k]) or "") >= 8)
        return step

    outcome = sec.ensure(api, params["name"], params["namespace"], decide_step, check_mode)
    step = outcome["step"]
    report = step["report"]
    if step["reused"]:
        module.warn(foreign_warning(params["namespace"], params["name"], step["differs"]))
    result = dict(
        changed=outcome["changed"],
        secret=dict(name=params["name"], namespace=params["namespace"]),
        keys=sorted(step["data"]),
        added=report["added"], updated=report["updated"], removed=report["removed"],
        generated=report["generated"], adopted=step["adopted"], reused=step["reused"],
    )
    if module._diff:
        result["diff"] = dict(before=outcome["before"], after=outcome["after"])
    return result


def run_module(module):
    """What the backend_secret module does, for ``module`` (an AnsibleModule, or a step of converge)."""
    params = module.params
    errors = check(params)
    if errors:
        module.fail_json(msg="Invalid options: " + "; ".join(errors))
    api = k8s.connect_or_fail(module)
    where = "Secret %s/%s" % (params["namespace"], params["name"])
    try:
        result = ensure_secret(module, api, params, module.check_mode)
    except TokenError as exc:
        module.fail_json(msg="%s needs a service account token: %s" % (where, exc))
    except (k8s.ApiError, ValueError) as exc:
        module.fail_json(msg="%s: %s" % (where, exc))
    module.exit_json(**result)
