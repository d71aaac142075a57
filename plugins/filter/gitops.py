# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contents of the two Secrets of the GitOps pipeline, read from the caller's files or values.

``docker-credentials`` holds one ``.dockerconfigjson``: the merge of the ``auths`` maps of several registry
auth files (a Quay robot account, a registry.redhat.io service account, ...). ``git-ssh-credentials``
holds ``id_rsa``, ``known_hosts`` and ``config``, each from a file or a value.

The ``*_problems`` functions say what is wrong, naming the setting and never showing what a file or
value holds; the role's validate phase gathers them before anything is written. The builders assume
the checks passed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
from collections.abc import Mapping, Sequence

DOCKER_CONFIG_VAR = "gitops_docker_config_files"

# (Secret key, variable holding the value, variable naming a file), in the order of the Secret.
SSH_KEYS = (
    ("id_rsa", "gitops_git_ssh_key", "gitops_git_ssh_key_file"),
    ("known_hosts", "gitops_git_ssh_known_hosts", "gitops_git_ssh_known_hosts_file"),
    ("config", "gitops_git_ssh_config", "gitops_git_ssh_config_file"),
)
# The key the pipeline's scripts add to the agent (ssh-add ~/.ssh/id_rsa) and the known hosts the
# steps read (GIT_SSH_COMMAND), for any host.
DEFAULT_SSH_CONFIG = "Host *\n  IdentityFile ~/.ssh/id_rsa\n  UserKnownHostsFile ~/.ssh/known_hosts\n"


def _read(path):
    """(text, why) of a file on the controller; text is None when it cannot be read."""
    if not isinstance(path, str) or not path:
        return None, "it is not a file path"
    full = os.path.abspath(os.path.expanduser(path))
    try:
        with open(full, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        return None, "file %s cannot be read (%s)" % (path, exc.strerror or exc.__class__.__name__)
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError:
        return None, "file %s is not UTF-8 text" % path


def _paths(value):
    """The list of paths of the setting, or None when it is not a list of strings."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        return None
    return list(value)


def _auths(text):
    """(auths, why) of the text of a registry auth file."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        # the message of the decoder names a line and column, never the text
        where = " at line %d column %d" % (exc.lineno, exc.colno) if hasattr(exc, "lineno") else ""
        return None, "is not valid JSON (%s%s)" % (getattr(exc, "msg", "cannot be parsed"), where)
    if not isinstance(data, Mapping) or not isinstance(data.get("auths"), Mapping):
        return None, "has no auths map (a registry auth file is {\"auths\": {\"<registry>\": {\"auth\": ...}}})"
    if not data["auths"]:
        return None, "has an empty auths map: it names no registry"
    bad = sorted(str(registry) for registry, entry in data["auths"].items() if not isinstance(entry, Mapping))
    if bad:
        return None, "has auths entries that are not mappings: %s" % ", ".join(bad)
    return data["auths"], ""


def docker_config_problems(paths, name=DOCKER_CONFIG_VAR):
    """What is wrong with the list of registry auth files ``paths`` (setting ``name``), as messages."""
    files = _paths(paths)
    if files is None:
        return ["%s must be a list of paths of registry auth files (such as [~/quay-robot.json, "
                "~/redhat-registry.json]); it is not a list." % name]
    problems = []
    seen = {}  # registry -> (index, entry)
    for index, path in enumerate(files):
        where = "%s[%d]" % (name, index)
        text, why = _read(path)
        if text is None:
            problems.append("%s: %s." % (where, why))
            continue
        auths, why = _auths(text)
        if auths is None:
            problems.append("%s: file %s %s." % (where, path, why))
            continue
        for registry, entry in auths.items():
            if registry in seen and seen[registry][1] != entry:
                problems.append("%s: file %s gives other credentials for %s than %s[%d]; name each registry "
                                "in one file only." % (where, path, registry, name, seen[registry][0]))
            seen.setdefault(registry, (index, entry))
    return problems


def docker_config(paths):
    """The ``.dockerconfigjson`` merging the ``auths`` of every file (checked by docker_config_problems).

    Sorted keys and no spaces, so that the same files give the same text on every run.
    """
    merged = {}
    for path in _paths(paths) or []:
        text, dummy = _read(path)
        auths, dummy = _auths(text) if text is not None else (None, "")
        for registry, entry in (auths or {}).items():
            merged.setdefault(registry, dict(entry))
    return json.dumps({"auths": merged}, sort_keys=True, separators=(",", ":"))


def registries(paths):
    """The registries the merged file names (for messages; no credential)."""
    return sorted(json.loads(docker_config(paths))["auths"])


def _given(settings, var):
    value = settings.get(var)
    return value if isinstance(value, str) and value != "" else None


def ssh_credentials_problems(settings):
    """What is wrong with the SSH settings (variable -> value, see SSH_KEYS), as messages; none when none is set."""
    problems = []
    for key, value_var, file_var in SSH_KEYS:
        for var in (value_var, file_var):
            if settings.get(var) not in (None, "") and not isinstance(settings.get(var), str):
                problems.append("%s must be a string." % var)
        if _given(settings, value_var) and _given(settings, file_var):
            problems.append("%s and %s both give %s: set one of them." % (value_var, file_var, key))
            continue
        path = _given(settings, file_var)
        if path:
            text, why = _read(path)
            if text is None:
                problems.append("%s: %s." % (file_var, why))
            elif not text.strip():
                problems.append("%s: file %s is empty." % (file_var, path))
        value = _given(settings, value_var)
        if value is not None and not value.strip():
            problems.append("%s is blank." % value_var)
    if problems:
        return problems
    given = [key for key, value_var, file_var in SSH_KEYS if _given(settings, value_var) or _given(settings, file_var)]
    if not given:
        return []
    given_vars = [var for key, value_var, file_var in SSH_KEYS for var in (value_var, file_var) if _given(settings, var)]
    for key, value_var, file_var in SSH_KEYS[:2]:
        if key not in given:
            problems.append("%s or %s must be set when the SSH credentials are given (%s): the pipeline needs %s."
                            % (value_var, file_var, ", ".join(given_vars), key))
    key_text = ssh_credentials(settings).get("id_rsa", "")
    if key_text and "PRIVATE KEY-----" not in key_text:
        source = SSH_KEYS[0][2] if _given(settings, SSH_KEYS[0][2]) else SSH_KEYS[0][1]
        problems.append("%s does not hold a private key in PEM or OpenSSH form (-----BEGIN ... PRIVATE KEY-----)."
                        % source)
    return problems


def ssh_credentials(settings):
    """The data of git-ssh-credentials (key -> text), {} when no SSH setting is given.

    Every text ends with a line break (ssh refuses a private key without one); config defaults to
    DEFAULT_SSH_CONFIG.
    """
    data = {}
    for key, value_var, file_var in SSH_KEYS:
        value = _given(settings, value_var)
        if value is None and _given(settings, file_var):
            value, dummy = _read(settings[file_var])
        if value:
            data[key] = value if value.endswith("\n") else value + "\n"
    if data and "config" not in data:
        data["config"] = DEFAULT_SSH_CONFIG
    return data


class FilterModule(object):
    """The Secrets of the GitOps pipeline."""

    def filters(self):
        return {
            "docker_config_problems": docker_config_problems,
            "docker_config": docker_config,
            "docker_config_registries": registries,
            "ssh_credentials_problems": ssh_credentials_problems,
            "ssh_credentials": ssh_credentials,
        }
