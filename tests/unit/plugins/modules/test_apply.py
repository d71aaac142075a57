"""The apply module as Ansible runs it: options checked before connecting, failures as messages, warnings."""

from ansible.module_utils import basic
from ansible_collections.parodos.orchestrator.plugins.modules import apply

from tests.unit.fakes import FakeApi, real_api
from tests.unit.plugins.module_utils.test_apply import (
    OURS, WIDGET, WIDGET_API, b64, cluster, config_map, namespace, secret,
)


def test_labels_cannot_change_the_mark(run_module):
    code, result = run_module(apply, {"definition": config_map(), "labels": {"app.kubernetes.io/managed-by": "me"}})
    assert code == 1 and result["changed"] is False
    assert result["msg"] == ("Invalid options: labels: app.kubernetes.io/managed-by must be parodos.orchestrator "
                             "(the collection's mark), got 'me'")


def test_definition_errors_fail_before_connecting(run_module):
    code, result = run_module(apply, {"definition": [config_map(), {"kind": "Secret"}], "component": "Demo"})
    assert code == 1
    assert result["msg"] == "Demo: Invalid options: definition[1] (Secret): apiVersion, metadata.name must be set"


def test_a_namespaced_custom_resource_without_namespace_is_a_message(run_module, monkeypatch):
    api = FakeApi(WIDGET_API)
    code, result = run_module(apply, {"definition": WIDGET, "component": "Widgets"}, real_api(api, monkeypatch))
    assert code == 1 and api.writes() == []
    assert result["msg"] == "Widgets: Widget/w: metadata.namespace must be set for a namespaced kind"


def test_the_result_shows_no_value_of_a_secret(run_module, monkeypatch):
    api = cluster(namespace())
    definition = [secret(stringData={"password": "module-password-value"}), config_map()]
    code, result = run_module(apply, {"definition": definition, "labels": OURS}, real_api(api, monkeypatch), diff=True)
    assert code == 0 and result["created"] == ["Secret/demo/creds", "ConfigMap/demo/settings"]
    assert api.objects["/api/v1/namespaces/demo/secrets/creds"]["data"] == {"password": b64("module-password-value")}
    assert "module-password-value" not in run_module.out
    assert result["invocation"]["module_args"]["definition"][0]["stringData"] == {"password": "<redacted>"}
    assert result["invocation"]["module_args"]["definition"][1] == config_map()
    code, result = run_module(apply, {"definition": definition + [{"kind": "x"}]})
    assert code == 1 and "module-password-value" not in run_module.out


def test_a_foreign_object_is_reused_with_a_warning(run_module, monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: seen.append(text))
    api = cluster(namespace(), config_map({"key": "theirs"}, labels={}))
    code, result = run_module(apply, {"definition": config_map(), "labels": OURS}, real_api(api, monkeypatch), diff=True)
    assert code == 0 and result["changed"] is False and result["reused"] == ["ConfigMap/demo/settings"]
    assert seen == ["ConfigMap/demo/settings exists without the collection's mark (app.kubernetes.io/managed-by): "
                    "used as it is"]
    assert result["diff"] == [] and api.writes() == []
