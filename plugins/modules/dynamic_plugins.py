#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dynamic_plugins
short_description: Ensure plugin entries in a Red Hat Developer Hub dynamic-plugins ConfigMap
version_added: "0.1.0"
author:
  - Parodos Orchestrator maintainers (@parodos-dev)
description:
  - Ensures that the YAML document in key O(key) of a ConfigMap lists the
    plugins of O(plugins), leaving every other plugin entry, C(includes) and
    any other top-level key as it was.
  - A plugin is known by its package without the version, for example
    C(@redhat/backstage-plugin-orchestrator) for
    C(@redhat/backstage-plugin-orchestrator@1.3.0); a local path such as
    C(./dynamic-plugins/dist/backstage-plugin-kubernetes) is its own name.
  - An entry of a wanted plugin is replaced by the wanted entry where it
    stands, so a version bump updates it in place; a plugin repeated in the
    list keeps its first place only. Wanted plugins not listed yet are
    appended.
  - The names of the plugins the module manages are recorded in the
    annotation C(parodos.orchestrator/dynamic-plugins) (a sorted JSON list).
    A plugin recorded there by an earlier run that is no longer in
    O(plugins) is removed from the list; plugins added by anyone else are
    never removed.
  - An absent ConfigMap is created when O(create) is true, with the
    ownership labels, O(labels) and C(includes) of
    C(dynamic-plugins.default.yaml). A missing or empty key is filled the
    same way.
  - An existing ConfigMap is changed even when the collection did not create
    it, but never gets the ownership labels; only the key and the annotation
    are written.
  - The documents are compared parsed, so formatting and comments of an
    unchanged document do not cause a write; a changed document is written
    again as plain YAML, without comments. Nothing is sent when nothing
    changes. Changes are one JSON merge patch carrying the resourceVersion
    read, so a concurrent change makes the module read again and retry.
  - In check mode writes are sent with C(dryRun=All).
extends_documentation_fragment:
  - parodos.orchestrator.cluster
  - parodos.orchestrator.cluster.WRITES
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: Writes are sent with C(dryRun=All). A ConfigMap whose namespace does not exist yet is reported as created.
  diff_mode:
    support: full
    details: Shows the parsed document of O(key) before and after.
options:
  name:
    description: Name of the ConfigMap.
    type: str
    required: true
  namespace:
    description: Namespace of the ConfigMap.
    type: str
    required: true
  key:
    description: Key of the ConfigMap that holds the dynamic plugins document.
    type: str
    default: dynamic-plugins.yaml
  plugins:
    description:
      - The plugin entries the document must have. Each plugin may appear
        once (by its package without the version).
      - An empty list removes every plugin this module added before.
    type: list
    elements: dict
    required: true
    suboptions:
      package:
        description:
          - Package of the plugin, for example an npm spec
            C(@redhat/plugin-signals-dynamic@1.3.0) or a local path
            C(./dynamic-plugins/dist/backstage-plugin-kubernetes).
        type: str
        required: true
      disabled:
        description: Whether the plugin is disabled.
        type: bool
        default: false
      integrity:
        description: Integrity hash of an npm package, for example C(sha512-...).
        type: str
      pluginConfig:
        description: Configuration of the plugin, written as it is.
        type: dict
  create:
    description:
      - Create the ConfigMap when it does not exist. When false, a missing
        ConfigMap fails the task.
    type: bool
    default: true
  labels:
    description:
      - Labels put, besides the ownership labels, on a ConfigMap the module
        creates. An existing ConfigMap keeps its labels.
    type: dict
    default: {}
notes:
  - The Red Hat Developer Hub operator rolls out Backstage when the data of a
    ConfigMap it watches changes; a run that writes nothing restarts nothing.
seealso:
  - module: parodos.orchestrator.backend_secret
"""

EXAMPLES = r"""
- name: Add the orchestrator plugins to an existing Red Hat Developer Hub
  parodos.orchestrator.dynamic_plugins:
    name: dynamic-plugins-rhdh
    namespace: rhdh
    create: false
    plugins:
      - package: "@redhat/backstage-plugin-orchestrator-backend-dynamic@1.3.0"
        integrity: sha512-Th5vmwyhHyhURwQo28++PPHTvxGSFScSHPJyofIdE5gTAb87ncyfyBkipSDq7fwj4L8CQTXa4YP6A2EkHW1npg==
        pluginConfig:
          orchestrator:
            dataIndexService:
              url: http://sonataflow-platform-data-index-service.sonataflow-infra
      - package: "@redhat/plugin-signals-dynamic@1.3.0"
        integrity: sha512-+E8XeTXcG5oy+aNImGj/MY0dvEkP7XAsu4xuZjmAqOHyVfiIi0jnP/QDz8XMbD1IjCimbr/DMUZdjmzQiD0hSQ==
        pluginConfig:
          dynamicPlugins:
            frontend:
              redhat.plugin-signals: {}

- name: Enable a bundled plugin
  parodos.orchestrator.dynamic_plugins:
    name: dynamic-plugins-rhdh
    namespace: rhdh
    plugins:
      - package: ./dynamic-plugins/dist/backstage-plugin-scaffolder-backend-module-github-dynamic
"""

RETURN = r"""
configmap:
  description: The ConfigMap the module ensured.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the ConfigMap.
      type: str
      sample: dynamic-plugins-rhdh
    namespace:
      description: Namespace of the ConfigMap.
      type: str
      sample: rhdh
created:
  description: Whether the ConfigMap was created by this run.
  returned: always
  type: bool
  sample: false
added:
  description: Plugins (package without version) appended by this run.
  returned: always
  type: list
  elements: str
  sample: ["@redhat/backstage-plugin-orchestrator"]
updated:
  description: Plugins whose entry was replaced by this run.
  returned: always
  type: list
  elements: str
  sample: ["@redhat/backstage-plugin-orchestrator-backend-dynamic"]
removed:
  description: Plugins of an earlier run, no longer wanted, removed by this run.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils import dynamic_plugins as dp


def argument_spec():
    return k8s.auth_argument_spec(**dp.options())


def main():
    dp.run_module(k8s.new_module(argument_spec()))


if __name__ == "__main__":
    main()
