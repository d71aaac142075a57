"""dynamic_plugins against the local test cluster: a user's ConfigMap, idempotence, removal, check mode, failures."""

from __future__ import annotations

import base64
import json

import yaml

from tests.helpers import REPO_ROOT, play_recap, run_module, run_playbook, writes

NS = "team-rhdh"
CM = "my-dynamic-plugins"
KEY = "dynamic-plugins.yaml"
ANNOTATION = "parodos.orchestrator/dynamic-plugins"
OWNERSHIP = {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator"}
ORCH = "@redhat/backstage-plugin-orchestrator"
ORCH_BACKEND = "@redhat/backstage-plugin-orchestrator-backend-dynamic"
SIGNALS = "@redhat/plugin-signals-dynamic"
GITHUB = "./dynamic-plugins/dist/backstage-plugin-scaffolder-backend-module-github-dynamic"

USER_DOC = """\
includes:
  - dynamic-plugins.default.yaml
plugins:
  - package: ./dynamic-plugins/dist/backstage-plugin-techdocs-backend-dynamic
    disabled: false
  - package: '@acme/backstage-plugin-dashboard@2.0.1'
    integrity: sha512-acme
    disabled: false
    pluginConfig:
      dynamicPlugins:
        frontend:
          acme.dashboard: {}
"""


def wanted(backend_version="1.3.0", signals=True):
    plugins = [
        {"package": ORCH + "@1.3.0", "integrity": "sha512-front",
         "pluginConfig": {"dynamicPlugins": {"frontend": {"janus-idp.backstage-plugin-orchestrator": {
             "dynamicRoutes": [{"path": "/orchestrator", "module": "OrchestratorPlugin",
                                "importName": "OrchestratorPage",
                                "menuItem": {"icon": "orchestratorIcon", "text": "Orchestrator"}}]}}}}},
        {"package": "%s@%s" % (ORCH_BACKEND, backend_version), "integrity": "sha512-back-" + backend_version,
         "pluginConfig": {"orchestrator": {"dataIndexService": {
             "url": "http://sonataflow-platform-data-index-service.sonataflow-infra"}}}},
        {"package": GITHUB, "disabled": False},
    ]
    if signals:
        plugins.append({"package": SIGNALS + "@1.3.0", "integrity": "sha512-signals"})
    return plugins


def run(cluster, tmp_path, check=False, diff=False, **options):
    args = {"name": CM, "namespace": NS, "plugins": wanted(), **options}
    return run_module(cluster, tmp_path, "dynamic_plugins", args, check=check, diff=diff)


def namespace(cluster, name=NS):
    cluster.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, manager="someone")


def user_configmap(cluster, text=USER_DOC):
    namespace(cluster)
    cluster.store.create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": CM, "namespace": NS, "labels": {"team": "rhdh"}},
                          "data": {KEY: text, "other.yaml": "x: 1\n"}}, manager="someone")


def configmap(cluster):
    return cluster.store.try_get("v1", "ConfigMap", CM, NS)


def document(cluster):
    return yaml.safe_load(configmap(cluster)["data"][KEY])


def packages(cluster):
    return [entry["package"] for entry in document(cluster)["plugins"]]


def test_users_configmap_gets_our_plugins_and_keeps_its_own(cluster, tmp_path):
    user_configmap(cluster)
    output, result = run(cluster, tmp_path)
    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["created"] is False
    assert result["configmap"] == {"name": CM, "namespace": NS}
    assert result["added"] == [ORCH, ORCH_BACKEND, GITHUB, SIGNALS]
    assert result["updated"] == [] and result["removed"] == []
    user = yaml.safe_load(USER_DOC)
    doc = document(cluster)
    assert doc["includes"] == ["dynamic-plugins.default.yaml"]
    assert doc["plugins"][:2] == user["plugins"]
    assert packages(cluster)[2:] == [ORCH + "@1.3.0", ORCH_BACKEND + "@1.3.0", GITHUB, SIGNALS + "@1.3.0"]
    assert doc["plugins"][3] == {"package": ORCH_BACKEND + "@1.3.0", "integrity": "sha512-back-1.3.0",
                                 "disabled": False, "pluginConfig": wanted()[1]["pluginConfig"]}
    meta = configmap(cluster)["metadata"]
    assert meta["labels"] == {"team": "rhdh"}  # never marked as ours
    assert json.loads(meta["annotations"][ANNOTATION]) == sorted([ORCH, ORCH_BACKEND, GITHUB, SIGNALS])
    assert configmap(cluster)["data"]["other.yaml"] == "x: 1\n"
    assert [e.content_type for e in cluster.requests.find("PATCH")] == ["application/merge-patch+json"]

    cluster.requests.reset()
    output, result = run(cluster, tmp_path)
    assert result["changed"] is False
    assert result["added"] == result["updated"] == result["removed"] == []
    assert play_recap(output)["changed"] == 0
    assert writes(cluster) == [] and writes(cluster, dry_run=True) == []


def test_version_bump_in_place_and_removal_of_ours_only(cluster, tmp_path):
    user_configmap(cluster)
    run(cluster, tmp_path)
    before = packages(cluster)
    output, result = run(cluster, tmp_path, plugins=wanted(backend_version="1.4.0", signals=False))
    assert result["changed"] is True
    assert result["updated"] == [ORCH_BACKEND] and result["removed"] == [SIGNALS] and result["added"] == []
    after = packages(cluster)
    assert after == [p.replace(ORCH_BACKEND + "@1.3.0", ORCH_BACKEND + "@1.4.0") for p in before
                     if p != SIGNALS + "@1.3.0"]
    assert document(cluster)["plugins"][3]["integrity"] == "sha512-back-1.4.0"
    # an empty list takes out every plugin of ours, and nothing of the user's
    output, result = run(cluster, tmp_path, plugins=[])
    assert result["removed"] == [ORCH, ORCH_BACKEND, GITHUB]
    assert document(cluster) == yaml.safe_load(USER_DOC)
    assert configmap(cluster)["metadata"]["annotations"][ANNOTATION] == "[]"


def test_creates_an_absent_configmap_with_our_marks(cluster, tmp_path):
    namespace(cluster)
    output, result = run(cluster, tmp_path, labels={"rhdh.redhat.com/ext-config-sync": "true"})
    assert result["changed"] is True and result["created"] is True
    assert result["added"] == [ORCH, ORCH_BACKEND, GITHUB, SIGNALS]
    cm = configmap(cluster)
    assert cm["metadata"]["labels"] == dict(OWNERSHIP, **{"rhdh.redhat.com/ext-config-sync": "true"})
    assert document(cluster)["includes"] == ["dynamic-plugins.default.yaml"]
    assert packages(cluster) == [ORCH + "@1.3.0", ORCH_BACKEND + "@1.3.0", GITHUB, SIGNALS + "@1.3.0"]
    text = cm["data"][KEY]
    assert text.startswith("includes:\n- dynamic-plugins.default.yaml\nplugins:\n- package: '@redhat/")

    cluster.requests.reset()
    output, result = run(cluster, tmp_path)
    assert result["changed"] is False and writes(cluster) == []
    assert configmap(cluster)["metadata"]["resourceVersion"] == cm["metadata"]["resourceVersion"]


def test_check_mode_writes_nothing_and_shows_the_diff(cluster, tmp_path):
    user_configmap(cluster)
    stored = configmap(cluster)
    cluster.requests.reset()
    output, result = run(cluster, tmp_path, check=True, diff=True)
    assert result["changed"] is True and result["added"] == [ORCH, ORCH_BACKEND, GITHUB, SIGNALS]
    assert writes(cluster) == []
    assert writes(cluster, dry_run=True) == [("PATCH", "/api/v1/namespaces/%s/configmaps/%s" % (NS, CM))]
    assert configmap(cluster) == stored
    assert result["diff"]["before"] == yaml.safe_load(USER_DOC)
    assert [e["package"] for e in result["diff"]["after"]["plugins"]][2:] == [
        ORCH + "@1.3.0", ORCH_BACKEND + "@1.3.0", GITHUB, SIGNALS + "@1.3.0"]
    assert '+            "package": "@redhat/plugin-signals-dynamic@1.3.0"' in output

    # a missing namespace in check mode: reported as created, nothing stored
    cluster.requests.reset()
    output, result = run(cluster, tmp_path, check=True, namespace="not-yet")
    assert result["changed"] is True and result["created"] is True
    assert writes(cluster) == [] and cluster.store.try_get("v1", "Namespace", "not-yet") is None


def test_invalid_document_fails_naming_configmap_and_key(cluster, tmp_path):
    user_configmap(cluster, "plugins:\n  package: not-a-list\n")
    cluster.requests.reset()
    output, result = run(cluster, tmp_path)
    assert result["failed"] is True
    assert result["msg"] == ("ConfigMap %s/%s, key %s: plugins is a dict, not a list; nothing was written"
                             % (NS, CM, KEY))
    assert writes(cluster) == [] and writes(cluster, dry_run=True) == []


def test_absent_configmap_with_create_false_fails(cluster, tmp_path):
    namespace(cluster)
    output, result = run(cluster, tmp_path, create=False)
    assert result["failed"] is True
    assert result["msg"] == "ConfigMap %s/%s does not exist (create is false)" % (NS, CM)
    assert configmap(cluster) is None


# ---------------------------------------------------------------- role rhdh, existing-RHDH mode

EXISTING_NS = "team-rhdh"
NPMRC = "dynamic-plugins-npmrc"
RHDH_API = "rhdh.redhat.com/v1alpha1"


def serve_backstage_api(cluster):
    from tests.cluster.crds import get_crd

    cluster.store.create(get_crd("backstages.rhdh.redhat.com", cluster.config.crds_dir), manager="someone")


def backstage(cluster, configmap_name=CM):
    application = {"dynamicPluginsConfigMapName": configmap_name} if configmap_name else {"replicas": 1}
    cluster.store.create({"apiVersion": "rhdh.redhat.com/v1alpha1", "kind": "Backstage",
                          "metadata": {"name": "developer-hub", "namespace": EXISTING_NS},
                          "spec": {"application": application}}, manager="someone")


def existing_rhdh(cluster):
    """A Developer Hub the collection did not install: its Backstage and its own dynamic plugins ConfigMap."""
    serve_backstage_api(cluster)
    namespace(cluster, EXISTING_NS)
    backstage(cluster)
    cluster.store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CM, "namespace": EXISTING_NS},
                          "data": {KEY: USER_DOC}}, manager="someone")


def existing_mode(cluster, check=False, **extra):
    variables = {"rhdh_existing_namespace": EXISTING_NS, "rhdh_existing_backstage": "developer-hub",
                 "orchestrator_rhdh_namespace": EXISTING_NS, **extra}
    plays = [{"name": "Existing RHDH", "hosts": "localhost", "connection": "local", "gather_facts": False,
              "tasks": [{"name": "Run the rhdh role", "ansible.builtin.include_role": {"name": "parodos.orchestrator.rhdh"},
                         "vars": variables}]}]
    proc = run_playbook(cluster, plays, check=check, args=("-v",))
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output
    return proc.returncode, output


def test_existing_mode_fails_clearly_before_any_write(cluster):
    code, output = existing_mode(cluster)
    assert code != 0
    assert ("Backstage %s/developer-hub: the API rhdh.redhat.com/v1alpha1 Backstage is not served: is the Red Hat "
            "Developer Hub operator installed?" % EXISTING_NS) in output
    serve_backstage_api(cluster)
    namespace(cluster, EXISTING_NS)
    code, output = existing_mode(cluster)
    assert code != 0
    assert ("Backstage %s/developer-hub: it does not exist: rhdh_existing_namespace and rhdh_existing_backstage "
            "must name an existing Backstage" % EXISTING_NS) in output
    backstage(cluster, configmap_name="")
    code, output = existing_mode(cluster)
    assert code != 0
    assert "Backstage %s/developer-hub: it has no spec.application.dynamicPluginsConfigMapName" % EXISTING_NS in output
    code, output = existing_mode(cluster, orchestrator_rhdh_namespace="rhdh-operator")
    assert code != 0 and "orchestrator_rhdh_namespace (rhdh-operator) must be the existing RHDH namespace" in output
    assert writes(cluster) == [] and writes(cluster, dry_run=True) == []
    assert cluster.store.try_get("v1", "Secret", NPMRC, EXISTING_NS) is None


def test_existing_mode_keeps_a_users_npmrc_and_never_shows_it(cluster):
    existing_rhdh(cluster)
    credential = "npm_Zq8wV3kPpL2sR9tYx"
    users_npmrc = "registry=https://npm.example.test\n//npm.example.test/:_authToken=%s\n" % credential
    cluster.store.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                          "metadata": {"name": NPMRC, "namespace": EXISTING_NS},
                          "stringData": {".npmrc": users_npmrc}}, manager="someone")
    stored = cluster.store.get("v1", "ConfigMap", CM, EXISTING_NS)
    cluster.requests.reset()
    code, output = existing_mode(cluster, check=True)
    assert code == 0, output
    assert writes(cluster) == [] and cluster.store.get("v1", "ConfigMap", CM, EXISTING_NS) == stored
    assert writes(cluster, dry_run=True) == [("PATCH", "/api/v1/namespaces/%s/configmaps/%s" % (EXISTING_NS, CM))]
    code, output = existing_mode(cluster)
    assert code == 0, output
    assert credential not in output
    assert "Secret %s/%s exists and was not created by this collection: it was kept as it is" % (
        EXISTING_NS, NPMRC) in output
    secret = cluster.store.get("v1", "Secret", NPMRC, EXISTING_NS)
    assert "labels" not in secret["metadata"]
    assert base64.b64decode(secret["data"][".npmrc"]).decode() == users_npmrc
    doc = yaml.safe_load(cluster.store.get("v1", "ConfigMap", CM, EXISTING_NS)["data"][KEY])
    assert doc["plugins"][:2] == yaml.safe_load(USER_DOC)["plugins"]
    assert [p["package"].rsplit("@", 1)[0] for p in doc["plugins"][2:]] == [
        ORCH, ORCH_BACKEND, "@redhat/plugin-notifications-dynamic", "@redhat/plugin-notifications-backend-dynamic",
        SIGNALS, "@redhat/plugin-signals-backend-dynamic"]
    # nothing of a full install in existing mode
    assert cluster.store.try_get("v1", "Secret", "backstage-backend-auth-secret", EXISTING_NS) is None
    assert cluster.store.try_get("v1", "ConfigMap", "app-config-rhdh", EXISTING_NS) is None
    assert cluster.store.list("operators.coreos.com/v1alpha1", "Subscription") == []

    cluster.requests.reset()
    code, output = existing_mode(cluster)
    assert code == 0 and play_recap(output)["changed"] == 0, output
    assert writes(cluster) == []


def test_cleanup_takes_our_plugins_out_of_an_existing_rhdh_and_keeps_its_own(cluster):
    existing_rhdh(cluster)
    code, output = existing_mode(cluster)
    assert code == 0, output
    assert len(packages(cluster)) == 8 and cluster.store.try_get("v1", "Secret", NPMRC, EXISTING_NS)

    cleanup = {"cleanup_components": ["rhdh"], "cleanup_rhdh_existing_namespace": EXISTING_NS,
               "cleanup_rhdh_existing_backstage": "developer-hub", "__cleanup_poll_delay": 0.2}
    proc = run_playbook(cluster, REPO_ROOT / "playbooks" / "cleanup.yml", cleanup)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert document(cluster)["plugins"] == yaml.safe_load(USER_DOC)["plugins"]
    assert json.loads(configmap(cluster)["metadata"]["annotations"][ANNOTATION]) == []
    assert cluster.store.try_get("v1", "Secret", NPMRC, EXISTING_NS) is None  # ours: created by the role
    assert cluster.store.try_get(RHDH_API, "Backstage", "developer-hub", EXISTING_NS)  # theirs: kept

    cluster.requests.reset()
    proc = run_playbook(cluster, REPO_ROOT / "playbooks" / "cleanup.yml", cleanup)
    assert proc.returncode == 0 and play_recap(proc.stdout)["changed"] == 0, proc.stdout
    assert writes(cluster) == []
