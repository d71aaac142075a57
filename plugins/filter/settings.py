# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of role settings for the roles' validate phases.

Every check is a pure function that returns what is wrong (an empty string or
list when nothing is), so that a role's validate.yml can gather the problems of
every setting and fail once, naming each bad setting and what is allowed. The
filters at the end put the setting's name and value in front of each reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import difflib
import fnmatch
import functools
import ipaddress
import json
import os
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import yaml

from ansible_collections.parodos.orchestrator.plugins.module_utils import workflow_namespace as _workflow_namespace
from ansible_collections.parodos.orchestrator.plugins.module_utils.values import kind_of

# libyaml's loader when PyYAML has it: the role files are read by every task that checks settings.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# --------------------------------------------------------------------------- names

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HOST_LABEL = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
PLURAL = re.compile(r"^[a-z][a-z0-9]*(/[a-z]+)?$")


def _text(value, limit=120):
    """A value as a message shows it: strings as they are, the rest as JSON, cut at ``limit`` characters."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, sort_keys=True, default=str)
        except (TypeError, ValueError):
            text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _sentence(text):
    """``text`` ending with a full stop (or the question mark it has)."""
    return text if text.endswith((".", "?", "!")) else text + "."


def _text_problem(value, limit=None):
    """Why ``value`` is not a non-empty string of at most ``limit`` characters, or ''."""
    if not isinstance(value, str):
        return "it is a %s, not a string" % kind_of(value)
    if not value:
        return "it is empty"
    if limit is not None and len(value) > limit:
        return "it has %d characters, at most %d are allowed" % (len(value), limit)
    return ""


def _pattern_problem(value, limit, pattern, allowed):
    """``_text_problem``, then ``allowed`` when ``value`` does not match ``pattern``."""
    return _text_problem(value, limit) or ("" if pattern.match(value) else allowed)


def namespace_problem(value):
    """Why ``value`` is not a namespace name (a DNS-1123 label), or ''."""
    return _pattern_problem(value, 63, DNS_LABEL, "only lower-case letters, digits and -, starting and ending with "
                                                  "a letter or digit, are allowed")


def service_name_problem(value):
    """Why ``value`` is not a Service name (a DNS-1035 label: it starts with a letter), or ''."""
    problem = namespace_problem(value)
    if problem:
        return problem
    return "" if DNS1035_LABEL.match(value) else "it must start with a lower-case letter"


def name_problem(value):
    """Why ``value`` is not an object name (a DNS-1123 subdomain), or ''."""
    return _pattern_problem(value, 253, DNS_SUBDOMAIN, "only lower-case letters, digits, - and ., starting and "
                                                       "ending with a letter or digit, are allowed")


def secret_key_problem(value):
    """Why ``value`` is not a key of a Secret or ConfigMap, or ''."""
    problem = _pattern_problem(value, 253, SECRET_KEY, "only letters, digits, -, _ and . are allowed")
    return problem or ("only letters, digits, -, _ and . are allowed" if value in (".", "..") else "")


def plural_problem(value):
    """Why ``value`` is not a resource as RBAC names it (plural, optional subresource, or *), or ''."""
    problem = _text_problem(value)
    if problem or value == "*":
        return problem
    return "" if PLURAL.match(value) else "only lower-case letters and digits (and /subresource) are allowed"


def host_problem(value):
    """Why ``value`` is not a host name or an IP address (no scheme, port or path), or ''."""
    problem = _text_problem(value)
    if problem:
        return problem
    if "://" in value:
        return "leave out the scheme (%s://)" % value.split("://", 1)[0]
    if "/" in value:
        return "leave out the path"
    if any(c.isspace() for c in value):
        return "it contains white space"
    try:
        ipaddress.ip_address(value)
        return ""
    except ValueError:
        pass
    if re.match(r"^[^:\[\]]+:[0-9]+$", value) or re.match(r"^\[[^\]]+\]:[0-9]+$", value):
        return "leave out the port (it has a setting of its own)"
    if len(value) > 253:
        return "it has %d characters, at most 253 are allowed" % len(value)
    labels = value.split(".")
    bad = [label for label in labels if len(label) > 63 or not HOST_LABEL.match(label)]
    if bad:
        return "%r is not a DNS label (letters, digits and -, at most 63 characters)" % (bad[0],)
    if labels[-1].isdigit():
        return "it is neither an IP address nor a host name"
    return ""


def postgresql_host_problem(value):
    """A host as libpq takes it: host name, IP address or the absolute path of a socket directory."""
    if isinstance(value, str) and value.startswith("/"):
        return "" if not any(c.isspace() for c in value) else "it contains white space"
    return host_problem(value)


def url_problem(value, schemes=("http", "https")):
    """Why ``value`` is not a URL with one of ``schemes`` and a host, or ''."""
    problem = _text_problem(value)
    if problem:
        return problem
    if any(c.isspace() for c in value):
        return "it contains white space"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        return "it cannot be parsed (%s)" % exc
    if parts.scheme not in schemes:
        return "it must start with %s" % " or ".join(s + "://" for s in schemes)
    if not parts.hostname:
        return "it has no host"
    if port == 0:
        return "port 0 is not a port"
    if parts.hostname.startswith("[") or ":" in parts.hostname:
        return ""
    problem = host_problem(parts.hostname)
    return "its host %s: %s" % (parts.hostname, problem) if problem else ""


# Standard resource names of a container (besides hugepages-<size> and
# extended resources, which carry a domain: example.com/gpu).
CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")
QUANTITY = re.compile(r"^(?P<sign>[+-]?)(?P<number>[0-9]+(\.[0-9]*)?|\.[0-9]+)"
                      r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE](?P<exponent>[+-]?[0-9]+))?$")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(value):
    """A Kubernetes quantity (250m, 1Gi, 1e3, 2) as a Decimal, or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    match = QUANTITY.match(value if isinstance(value, str) else repr(value))
    if not match:
        return None
    try:
        number = Decimal(match.group("number"))
    except InvalidOperation:
        return None
    if match.group("sign") == "-":
        number = -number
    suffix = match.group("suffix") or ""
    if suffix in _BINARY:
        return number * (Decimal(1024) ** _BINARY[suffix])
    exponent = int(match.group("exponent")) if match.group("exponent") is not None else _DECIMAL[suffix]
    return number.scaleb(exponent)


def quantity_problem(value, positive=False):
    """Why ``value`` is not a (non-negative, or with ``positive`` above zero) Kubernetes quantity, or ''."""
    parsed = parse_quantity(value)
    if parsed is None:
        return "it is not a Kubernetes quantity such as 250m, 64Mi, 1Gi or 2"
    if parsed < 0:
        return "it is negative"
    if positive and parsed == 0:
        return "it must be above zero"
    return ""


def storage_problem(value):
    """Why ``value`` is not the size of a volume (a quantity of at least 1Mi), or ''."""
    problem = quantity_problem(value, positive=True)
    if problem:
        return problem
    if parse_quantity(value) < 1024 ** 2:
        text = str(value)
        hint = " (did you mean %si?)" % text if re.match(r"^[0-9.]+[MGT]$", text) else (
            " (did you mean %sMi?)" % text[:-1] if text.endswith("m") else "")
        return "it is %s bytes, a volume needs at least 1Mi%s" % (parse_quantity(value).normalize(), hint)
    return ""


def resource_name_problem(name):
    """Why ``name`` is not the name of a container resource, or ''."""
    if not isinstance(name, str):
        return "%s is not a resource name" % _text(name)
    if name in CONTAINER_RESOURCES or re.match(r"^hugepages-[0-9]", name) or (
            "/" in name and name.count("/") == 1 and not name.startswith("kubernetes.io/")):
        return ""
    close = difflib.get_close_matches(name, CONTAINER_RESOURCES, n=1, cutoff=0.6)
    return "%s is not a container resource (cpu, memory, ephemeral-storage, hugepages-<size> or a " \
           "domain-qualified extended resource)%s" % (name, "; did you mean %s?" % close[0] if close else "")


def resources_problems(value, allowed=("requests", "limits")):
    """Why ``value`` is not container resources: a mapping with ``allowed`` keys, quantities, requests <= limits."""
    if not isinstance(value, Mapping):
        return ["it is a %s, not a mapping with %s" % (kind_of(value), " and/or ".join(allowed))]
    problems = []
    unknown = [str(k) for k in value if k not in allowed]
    if unknown:
        problems.append("it has %s; allowed keys are %s" % (", ".join(unknown), ", ".join(allowed)))
    amounts = {}
    for section in ("requests", "limits"):
        if section not in allowed or section not in value:
            continue
        entries = value[section]
        if entries is None:
            continue
        if not isinstance(entries, Mapping):
            problems.append("%s is a %s, not a mapping of resource to quantity" % (section, kind_of(entries)))
            continue
        amounts[section] = {}
        for resource, amount in entries.items():
            problem = resource_name_problem(resource)
            if problem:
                problems.append("%s: %s" % (section, problem))
                continue
            problem = quantity_problem(amount)
            if problem:
                problems.append("%s.%s (%s): %s" % (section, resource, _text(amount), problem))
                continue
            amounts[section][resource] = parse_quantity(amount)
    for resource, request in sorted(amounts.get("requests", {}).items()):
        limit = amounts.get("limits", {}).get(resource)
        if limit is not None and request > limit:
            problems.append("requests.%s (%s) is above limits.%s (%s)" % (
                resource, _text(value["requests"][resource]), resource, _text(value["limits"][resource])))
    if "claims" in allowed and value.get("claims") is not None:
        claims = value["claims"]
        if not isinstance(claims, Sequence) or isinstance(claims, str) or not all(
                isinstance(c, Mapping) and isinstance(c.get("name"), str) and c.get("name") for c in claims):
            problems.append("claims must be a list of {name: <claim>}")
    return problems


def seconds_problem(value, maximum=86400):
    """Why ``value`` is not a whole number of seconds from 1 to ``maximum``, or ''."""
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        return "it is not a whole number of seconds"
    number = int(value)
    if number < 1:
        return "it must be at least 1"
    if number > maximum:
        return "it is above %d (one day); give seconds, not milliseconds" % maximum
    return ""


def port_problem(value):
    """Why ``value`` is not a TCP port (1 to 65535), or ''."""
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        return "it is not a port number"
    return "" if 1 <= int(value) <= 65535 else "%s is out of range" % value


# --------------------------------------------------------------------------- images

# The grammar of github.com/distribution/reference.
_ALPHANUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
PATH_COMPONENT = re.compile(r"^%s(?:%s%s)*$" % (_ALPHANUM, _SEPARATOR, _ALPHANUM))
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
REGISTRY = re.compile(r"^(?:%s(?:\.%s)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$" % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT))
TAG = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST = re.compile(r"^(?P<algorithm>[a-z0-9]+(?:[.+_-][a-z0-9]+)*):(?P<hex>[0-9a-fA-F]{32,})$")
DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


def image_problem(value):
    """Why ``value`` is not a container image reference ([registry/]path[:tag][@digest]), or ''."""
    problem = _text_problem(value)
    if problem:
        return problem
    if any(c.isspace() for c in value):
        return "it contains white space"
    if "://" in value:
        return "leave out the scheme (%s://)" % value.split("://", 1)[0]
    name, at, digest = value.partition("@")
    if at:
        match = DIGEST.match(digest)
        if not match:
            return "the digest after @ (%s) must be <algorithm>:<hex digits>, such as sha256:<64 hex digits>" % digest
        expected = DIGEST_LENGTHS.get(match.group("algorithm"))
        if expected and len(match.group("hex")) != expected:
            return "a %s digest has %d hex digits, this one has %d" % (
                match.group("algorithm"), expected, len(match.group("hex")))
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not TAG.match(tag):
            return "the tag after : (%s) may only hold letters, digits, _, . and -, at most 128, not starting " \
                   "with . or -" % (tag or "empty")
    if not name:
        return "it has no repository name"
    if len(name) > 255:
        return "the name has %d characters, at most 255 are allowed" % len(name)
    components = name.split("/")
    first = components[0]
    if len(components) > 1 and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not REGISTRY.match(first):
            return "the registry %s is not a host name with an optional port" % first
        components = components[1:]
    for component in components:
        if not PATH_COMPONENT.match(component):
            if component.lower() != component:
                return "the repository path (%s) must be lower-case" % "/".join(components)
            return "the repository path component %r may only hold lower-case letters and digits, " \
                   "separated by ., _, __ or -" % component
    return ""


# --------------------------------------------------------------------------- integrity, e-mail, git, npm

# Subresource Integrity algorithms that Developer Hub accepts, and their digest sizes in bytes.
SRI_ALGORITHMS = {"sha256": 32, "sha384": 48, "sha512": 64}


def integrity_problem(value):
    """Why ``value`` is not a Subresource Integrity hash that Developer Hub takes (sha256/384/512), or ''."""
    problem = _text_problem(value)
    if problem:
        return problem
    algorithm, dash, digest = value.strip().partition("-")
    if not dash or not algorithm:
        return "it must start with sha256-, sha384- or sha512-"
    if algorithm not in SRI_ALGORITHMS:
        return "%s is not accepted; only sha256, sha384 and sha512 hashes are" % algorithm
    try:
        raw = base64.b64decode(digest, validate=True)
    except (binascii.Error, ValueError):
        return "the digest after %s- is not base64" % algorithm
    if len(raw) != SRI_ALGORITHMS[algorithm]:
        return "a %s digest is %d bytes (%d base64 characters), this one is %d bytes" % (
            algorithm, SRI_ALGORITHMS[algorithm], (SRI_ALGORITHMS[algorithm] + 2) // 3 * 4, len(raw))
    return ""


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_LOCAL = re.compile(r"^%s(?:\.%s)*$" % (_ATOM, _ATOM))
EMAIL_DISPLAY = re.compile(r"^(?P<name>[^<>\r\n]*?)\s*<(?P<address>[^<>]*)>$")


def email_problem(value):
    """Why ``value`` is not an e-mail address (address@domain, or Display Name <address@domain>), or ''."""
    problem = _text_problem(value)
    if problem:
        return problem
    display = EMAIL_DISPLAY.match(value)
    address = display.group("address") if display else value
    if any(c.isspace() for c in address):
        return "the address contains white space"
    if address.count("@") != 1:
        return "an address has exactly one @ (it has %d)" % address.count("@")
    local, domain = address.split("@")
    if not local or len(local) > 64 or not EMAIL_LOCAL.match(local):
        return "the part before @ (%s) is not a mailbox name" % (local or "empty")
    if domain.startswith("[") and domain.endswith("]"):
        try:
            ipaddress.ip_address(domain[1:-1].replace("IPv6:", ""))
            return ""
        except ValueError:
            return "the address literal %s is not an IP address" % domain
    labels = domain.split(".")
    if len(labels) < 2 or host_problem(domain) or not re.match(r"^[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?$", labels[-1]):
        return "the part after @ (%s) is not a domain name such as example.com" % (domain or "empty")
    return ""


def git_ref_problem(value):
    """Why ``value`` is not a git branch or tag name usable in a URL path, or ''."""
    problem = _text_problem(value)
    if problem:
        return problem
    bad = sorted({c for c in value if c.isspace() or ord(c) < 32 or ord(c) == 127 or c in "~^:?*[\\#%"})
    if bad:
        return "it contains %s" % " ".join(repr(c) for c in bad)
    if ".." in value or "@{" in value or value == "@" or "//" in value:
        return "it contains .., @{ or //, or is @"
    if value.startswith("/") or value.endswith("/") or value.endswith("."):
        return "it starts or ends with / or ends with ."
    if any(part.startswith(".") or part.endswith(".lock") for part in value.split("/")):
        return "a part of it starts with . or ends with .lock"
    return ""


NPM_NAME = re.compile(r"^[a-z0-9~-][a-z0-9._~-]*$")
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
                    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")


def npm_package_problem(value):
    """Why ``value`` is not name@version of an npm package without its scope, or ''."""
    problem = _text_problem(value)
    if problem:
        return problem
    if value.startswith("@"):
        return "leave out the scope (%s): rhdh_plugin_scope adds it" % value.split("/", 1)[0]
    name, at, version = value.partition("@")
    if not at:
        return "it has no @version"
    if len(name) > 214 or not NPM_NAME.match(name):
        return "the package name %s may only hold lower-case letters, digits, -, ., _ and ~" % name
    if not SEMVER.match(version):
        return "the version %s is not an exact version such as 1.3.0 (the integrity belongs to one version)" % (
            version or "(empty)")
    return ""


# --------------------------------------------------------------------------- the dynamic plugins of rhdh

PLUGIN_KEYS = ("package", "integrity")


def plugin_problems(plugins, defaults, name="rhdh_plugins"):
    """What is wrong with the plugin overrides ``plugins``, merged one level down over ``defaults``.

    Each entry may give package, integrity or both; a package other than the default one needs its own
    integrity (the default one belongs to the default package).
    """
    if not isinstance(plugins, Mapping):
        return ["%s must be a mapping of plugin to {package: name@version, integrity: sha512-...}; it is a %s (%s)"
                % (name, kind_of(plugins), _text(plugins))]
    problems = []
    for plugin in plugins:
        where = "%s.%s" % (name, plugin)
        if plugin not in defaults:
            close = difflib.get_close_matches(str(plugin), list(defaults), n=1, cutoff=0.6)
            problems.append("%s is not a plugin of the collection%s; the plugins are %s" % (
                where, " (did you mean %s?)" % close[0] if close else "", ", ".join(defaults)))
            continue
        entry = plugins[plugin]
        if not isinstance(entry, Mapping):
            problems.append("%s must be a mapping with package and/or integrity; it is a %s (%s)" % (
                where, kind_of(entry), _text(entry)))
            continue
        unknown = [str(k) for k in entry if k not in PLUGIN_KEYS]
        if unknown:
            problems.append("%s has unknown key(s) %s; the keys are package and integrity" % (
                where, ", ".join(unknown)))
        default = defaults[plugin]
        package = entry.get("package", default.get("package"))
        problem = npm_package_problem(package)
        if problem:
            problems.append("%s.package (%s) must be name@version without the scope, such as %s: %s" % (
                where, _text(package), default.get("package"), problem))
        if "integrity" in entry:
            problem = integrity_problem(entry["integrity"])
            if problem:
                problems.append("%s.integrity (%s) must be a Subresource Integrity hash, sha256-, sha384- or "
                                "sha512- and the base64 digest (as npm view <package> dist.integrity shows it): %s"
                                % (where, _text(entry["integrity"]), problem))
        elif package != default.get("package"):
            problems.append("%s.package is %s but no integrity is given: set %s.integrity to the hash of that "
                            "package (npm view %s dist.integrity)" % (where, _text(package), where, _text(package)))
    return [_sentence(problem) for problem in problems]


def key_names_problems(value, defaults, name):
    """What is wrong with ``value`` (logical key -> key name, merged over ``defaults``): unknown logical keys, key
    names that are not Secret keys, and one key name given to two logical keys."""
    if not isinstance(value, Mapping):
        return ["%s must be a mapping of logical key to key name, such as {github_token: GH_TOKEN}; it is a %s (%s)."
                % (name, kind_of(value), _text(value))]
    problems = []
    unknown = []
    for key in value:
        if key not in defaults:
            close = difflib.get_close_matches(str(key), list(defaults), n=1, cutoff=0.6)
            unknown.append("%s%s" % (key, " (did you mean %s?)" % close[0] if close else ""))
    if unknown:
        problems.append("%s has unknown logical keys: %s; the logical keys are %s." % (
            name, ", ".join(unknown), ", ".join(defaults)))
    problems += setting_problems({"%s.%s" % (name, k): v for k, v in value.items() if k in defaults}, "secret_key")
    merged = dict(defaults)
    merged.update((k, v) for k, v in value.items() if k in defaults)
    users = {}
    for key, key_name in merged.items():
        users.setdefault(str(key_name), []).append(key)
    for key_name, keys in users.items():
        if len(keys) > 1:
            problems.append("%s gives the key name %s to %s; each value needs its own key in the Secret." % (
                name, key_name, " and ".join(keys)))
    return problems


# --------------------------------------------------------------------------- unknown settings

# Facts that the roles publish and the connection settings that the playbooks
# read: set by the collection or accepted from the user, declared by no role.
PUBLISHED = frozenset({
    "orchestrator_cluster_domain", "orchestrator_cluster_api_url", "orchestrator_openshift_version",
    "orchestrator_kubernetes_version", "orchestrator_postgresql", "orchestrator_data_index_url",
    "orchestrator_rhdh_url", "orchestrator_operator_packages", "orchestrator_operators",
    "orchestrator_prepared", "orchestrator_installed", "orchestrator_workflow_namespaces", "orchestrator_kubeconfig",
    "orchestrator_kube_context", "orchestrator_api_host", "orchestrator_api_key", "orchestrator_validate_certs",
    "orchestrator_gitops_installs_operators",
})
SHARED_PREFIX = "orchestrator_"
ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


def _yaml_keys(path):
    try:
        with open(path) as handle:
            data = yaml.load(handle, Loader=_LOADER)
    except (OSError, yaml.YAMLError):
        return set()
    return set(data) if isinstance(data, dict) else set()


@functools.lru_cache(maxsize=8)
def collection_settings(roles_dir=ROLES_DIR):
    """(role names, every setting name a role declares: argument specs, defaults and vars, plus PUBLISHED)."""
    roles, names = [], set(PUBLISHED)
    for role in sorted(os.listdir(roles_dir)) if os.path.isdir(roles_dir) else []:
        path = os.path.join(roles_dir, role)
        if not os.path.isdir(os.path.join(path, "tasks")):
            continue
        roles.append(role)
        try:
            with open(os.path.join(path, "meta", "argument_specs.yml")) as handle:
                specs = (yaml.load(handle, Loader=_LOADER) or {}).get("argument_specs") or {}
        except (OSError, yaml.YAMLError, AttributeError):
            specs = {}
        for entry in specs.values():
            names.update((entry or {}).get("options") or {})
        names |= _yaml_keys(os.path.join(path, "defaults", "main.yml"))
        names |= _yaml_keys(os.path.join(path, "vars", "main.yml"))
    return tuple(roles), frozenset(names)


def owner(name, roles):
    """The role whose prefix ``name`` starts with (the longest: serverless_logic before serverless), 'orchestrator'
    for the shared settings, or None."""
    if name.startswith(SHARED_PREFIX):
        return "orchestrator"
    matches = [role for role in roles if name.startswith(role + "_")]
    return max(matches, key=len) if matches else None


def closest(name, known):
    """The known name most like ``name``, or None."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return close[0] if close else None


def unknown_settings(names, role=None, others=(), roles_dir=ROLES_DIR):
    """Messages for the names of ``role`` (its prefix; None: of every role) and the shared ones (orchestrator_)
    that no role declares.

    ``others`` are names or shell-style patterns of variables that belong to something else.
    """
    roles, known = collection_settings(roles_dir)
    messages = []
    for name in sorted(set(str(n) for n in names)):
        found = owner(name, roles)
        if name in known or found is None or role is not None and found not in (role, "orchestrator"):
            continue
        if any(fnmatch.fnmatchcase(name, str(pattern)) for pattern in others or ()):
            continue
        suggestion = closest(name, known)
        messages.append("%s is set but no role of the collection has such a setting, so it would be ignored%s" % (
            name, "; did you mean %s?" % suggestion if suggestion else "."))
    return messages


# --------------------------------------------------------------------------- filters

CHECKS = {
    "namespace": (namespace_problem, "a namespace name"),
    "label": (namespace_problem, "a name of 1 to 63 lower-case letters, digits or -"),
    "name": (name_problem, "an object name"),
    "service": (service_name_problem, "a Service name"),
    "secret_key": (secret_key_problem, "a key of a Secret"),
    "plural": (plural_problem, "the plural of a resource, such as namespaces or customresourcedefinitions"),
    "host": (host_problem, "a host name or an IP address, without scheme, port or path"),
    "postgresql_host": (postgresql_host_problem, "a host name, an IP address or the path of a socket directory"),
    "url": (url_problem, "an http or https URL with a host, such as https://example.com/path"),
    "image": (image_problem, "an image reference such as registry.example.com/team/name:tag or "
                             "name@sha256:<64 hex digits>"),
    "integrity": (integrity_problem, "a Subresource Integrity hash (sha256-, sha384- or sha512- and the base64 "
                                     "digest)"),
    "email": (email_problem, "an e-mail address such as orchestrator@example.com, or Name <orchestrator@example.com>"),
    "git_ref": (git_ref_problem, "a git branch or tag name such as v1.3.x"),
    "npm_package": (npm_package_problem, "name@version of an npm package, without the scope"),
    "quantity": (functools.partial(quantity_problem, positive=True), "a positive Kubernetes quantity, such as "
                                                                     "1Gi, 500Mi or 10G"),
    "storage": (storage_problem, "a positive Kubernetes quantity such as 1Gi, 500Mi or 10G (a volume size)"),
    "seconds": (seconds_problem, "a number of seconds above 0 (at most 86400, one day)"),
    "port": (port_problem, "a port number from 1 to 65535"),
}


def setting_problems(settings, kind, empty=False, secret=False, what=None):
    """One message for each setting (name -> value) whose value is not of ``kind`` (CHECKS).

    ``empty``: an empty string is allowed (it means "not set"). ``secret``: the value is never shown.
    ``what``: what the message says is allowed, instead of the kind's own words.
    """
    check, allowed = CHECKS[kind]
    allowed = what or allowed
    messages = []
    for name, value in settings.items():
        if empty and value == "":
            continue
        problem = check(value)
        if problem:
            shown = "" if secret else " (%s)" % _text(value)
            messages.append(_sentence("%s%s must be %s%s: %s" % (name, shown, "empty or " if empty else "", allowed,
                                                                 problem)))
    return messages


def resource_problems(value, name, allowed=("requests", "limits")):
    """Messages for container resources ``value`` of setting ``name`` (resources_problems)."""
    return [_sentence("%s must be container resources (requests and/or limits of cpu, memory... as Kubernetes "
                      "quantities such as 250m, 64Mi, 1Gi): %s" % (name, problem))
            for problem in resources_problems(value, allowed)]


def workflow_namespaces_problems(value, name, taken=None):
    """Messages for a list of additional workflow namespaces in setting ``name``; ``taken``: namespace -> what it
    is already (such as "the platform's workflow namespace (orchestrator_workflow_namespace)")."""
    return _workflow_namespace.entries_problems(value, name, taken)


def workflow_namespaces(value):
    """A checked list of names or {name, persistence, schema} as mappings with every key (persistence true and the
    schema the name by default)."""
    return _workflow_namespace.namespace_entries(value)


class FilterModule(object):
    """Checks of role settings."""

    def filters(self):
        return {
            "setting_problems": setting_problems,
            "resource_problems": resource_problems,
            "plugin_problems": plugin_problems,
            "key_names_problems": key_names_problems,
            "unknown_settings": unknown_settings,
            "workflow_namespaces_problems": workflow_namespaces_problems,
            "workflow_namespaces": workflow_namespaces,
        }
