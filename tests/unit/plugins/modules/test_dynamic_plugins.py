"""The dynamic_plugins module against an in-memory API, and main() as Ansible runs it."""

import json

import yaml

from ansible_collections.parodos.orchestrator.plugins.module_utils import dynamic_plugins as dp
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from ansible_collections.parodos.orchestrator.plugins.modules import dynamic_plugins
from tests.unit.fakes import FakeApi

CMS = "/api/v1/namespaces/rhdh/configmaps"
CM = CMS + "/dp"
KEY = "dynamic-plugins.yaml"
SIGNALS = "@redhat/plugin-signals-dynamic"
OURS = {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator"}


def cluster(objects=None, namespaces=("rhdh",), conflicts=0):
    """The API with ``objects`` in ``namespaces``; the first ``conflicts`` patches meet a change someone made
    meanwhile (a new resourceVersion)."""
    api = FakeApi(objects, namespaces=namespaces)

    def someone_else_writes(api):
        meta = api.objects[CM]["metadata"]
        meta["resourceVersion"] = meta.get("resourceVersion", "") + "-changed"

    if conflicts:
        api.on_request(someone_else_writes, method="PATCH", times=conflicts)
    return api


def params(**over):
    out = {"name": "dp", "namespace": "rhdh", "key": KEY, "create": True, "labels": {},
           "plugins": [{"package": SIGNALS + "@1.3.0", "integrity": "sha512-s", "disabled": False,
                        "pluginConfig": None}]}
    out.update(over)
    return out


def user_configmap(text, annotations=None):
    meta = {"name": "dp", "namespace": "rhdh", "resourceVersion": "5", "labels": {"team": "a"}}
    if annotations:
        meta["annotations"] = annotations
    return {CM: {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {KEY: text}}}


def doc(api):
    return yaml.safe_load(api.objects[CM]["data"][KEY])


def test_creates_with_marks_then_writes_nothing():
    api = cluster()
    report = dp.ensure(api, params(labels={"extra": "x"}), False)
    assert report.changed and report.created and report.added == [SIGNALS]
    assert api.writes() == [("POST", CMS, False)]
    meta = api.objects[CM]["metadata"]
    assert meta["labels"] == dict(OURS, extra="x")
    assert meta["annotations"] == {dp.ANNOTATION: json.dumps([SIGNALS])}
    assert doc(api) == {"includes": ["dynamic-plugins.default.yaml"],
                        "plugins": [{"package": SIGNALS + "@1.3.0", "integrity": "sha512-s", "disabled": False}]}
    api.requests.clear()
    report = dp.ensure(api, params(), False)
    assert not report.changed and not report.created
    assert api.calls("method", "path", "dry_run") == [("GET", CM, False)]
    assert report.before == report.after == doc(api)


def test_users_configmap_is_changed_but_not_labelled():
    text = "includes: [dynamic-plugins.default.yaml]\nplugins:\n- package: ./x\n  disabled: true  # mine\n"
    api = cluster(user_configmap(text))
    report = dp.ensure(api, params(), False)
    assert report.changed and not report.created and report.added == [SIGNALS]
    assert api.writes() == [("PATCH", CM, False)]
    meta = api.objects[CM]["metadata"]
    assert meta["labels"] == {"team": "a"}
    assert meta["annotations"] == {dp.ANNOTATION: json.dumps([SIGNALS])}
    assert doc(api)["plugins"][0] == {"package": "./x", "disabled": True}
    assert report.before == yaml.safe_load(text)
    # the comment-free rewrite now compares equal: nothing more to write
    api.requests.clear()
    assert not dp.ensure(api, params(), False).changed
    assert api.writes() == []


def test_formatting_alone_causes_no_write():
    text = ("# managed elsewhere too\nincludes:\n  - dynamic-plugins.default.yaml\nplugins:\n"
            "  - {package: '@redhat/plugin-signals-dynamic@1.3.0', integrity: sha512-s, disabled: false}\n")
    api = cluster(user_configmap(text, {dp.ANNOTATION: json.dumps([SIGNALS])}))
    report = dp.ensure(api, params(), False)
    assert not report.changed and api.writes() == []
    assert api.objects[CM]["data"][KEY] == text


def test_lost_annotation_is_written_back_without_touching_the_data():
    text = dp.dump({"plugins": [{"package": SIGNALS + "@1.3.0", "integrity": "sha512-s", "disabled": False}]})
    api = cluster(user_configmap(text))
    report = dp.ensure(api, params(), False)
    assert report.changed and report.added == report.updated == report.removed == []
    assert api.objects[CM]["data"][KEY] == text
    assert api.objects[CM]["metadata"]["annotations"] == {dp.ANNOTATION: json.dumps([SIGNALS])}


def test_removal_of_a_plugin_no_longer_wanted():
    api = cluster()
    k8s_plugin = {"package": "./k8s", "disabled": False, "integrity": None, "pluginConfig": {"kubernetes": {"x": 1}}}
    two = params(plugins=params()["plugins"] + [k8s_plugin])
    dp.ensure(api, two, False)
    assert [e["package"] for e in doc(api)["plugins"]] == [SIGNALS + "@1.3.0", "./k8s"]
    report = dp.ensure(api, params(), False)
    assert report.removed == ["./k8s"] and report.changed
    assert [e["package"] for e in doc(api)["plugins"]] == [SIGNALS + "@1.3.0"]
    assert api.objects[CM]["metadata"]["annotations"][dp.ANNOTATION] == json.dumps([SIGNALS])


def test_check_mode_sends_dry_runs_only():
    api = cluster(namespaces=())
    report = dp.ensure(api, params(), True)
    assert report.changed and report.created
    assert api.writes() == [("POST", CMS, True)] and api.objects == {}
    api = cluster(user_configmap("plugins: []\n"))
    report = dp.ensure(api, params(), True)
    assert report.changed and report.added == [SIGNALS]
    assert api.writes() == [("PATCH", CM, True)]
    assert api.objects[CM]["data"][KEY] == "plugins: []\n"


def test_missing_namespace_fails_outside_check_mode():
    api = cluster(namespaces=())
    try:
        dp.ensure(api, params(), False)
    except ApiError as exc:
        assert exc.status == 404
    else:
        raise AssertionError("no failure")


def test_concurrent_change_is_read_again():
    api = cluster(user_configmap("plugins: []\n"), conflicts=1)
    report = dp.ensure(api, params(), False)
    assert report.changed
    assert api.writes() == [("PATCH", CM, False), ("PATCH", CM, False)]
    assert [m for m, p in api.calls()] == ["GET", "PATCH", "GET", "PATCH"]
    assert doc(api)["plugins"][0]["package"] == SIGNALS + "@1.3.0"


def test_main_result_and_diff(run_module):
    api = cluster(user_configmap("plugins:\n- package: '@redhat/plugin-signals-dynamic@1.2.0'\n"))
    code, result = run_module(dynamic_plugins, params(), api=api, diff=True)
    assert code == 0, result
    assert result["changed"] is True and result["created"] is False
    assert result["configmap"] == {"name": "dp", "namespace": "rhdh"}
    assert result["updated"] == [SIGNALS] and result["added"] == [] and result["removed"] == []
    assert result["diff"]["before"] == {"plugins": [{"package": SIGNALS + "@1.2.0"}]}
    assert result["diff"]["after"]["plugins"][0]["package"] == SIGNALS + "@1.3.0"


def test_main_fails_naming_configmap_and_key_on_bad_yaml(run_module):
    api = cluster(user_configmap("plugins: [oops\n"))
    code, result = run_module(dynamic_plugins, params(), api=api)
    assert code == 1 and result["failed"] is True
    assert result["msg"].startswith("ConfigMap rhdh/dp, key dynamic-plugins.yaml: not valid YAML")
    assert "nothing was written" in result["msg"]
    assert api.writes() == []


def test_main_fails_when_absent_and_create_false(run_module):
    api = cluster()
    code, result = run_module(dynamic_plugins, params(create=False), api=api)
    assert code == 1 and result["msg"] == "ConfigMap rhdh/dp does not exist (create is false)"
    assert api.writes() == []


def test_main_rejects_repeated_plugins_before_connecting(run_module):
    twice = params(plugins=[{"package": SIGNALS + "@1.3.0"}, {"package": SIGNALS + "@1.4.0"}])
    code, result = run_module(dynamic_plugins, twice)
    assert code == 1
    assert result["msg"] == ("ConfigMap rhdh/dp: invalid options: plugins[1]: %s@1.4.0 is the same plugin as "
                             "plugins[0]" % SIGNALS)


def test_a_broken_annotation_is_ignored_with_a_warning():
    api = cluster(user_configmap("plugins: []\n", {dp.ANNOTATION: "garbage"}))
    report = dp.ensure(api, params(), False)
    assert report.added == [SIGNALS]
    assert report.warnings == ["ConfigMap rhdh/dp: annotation %s is not a JSON list of plugin names; it is ignored "
                               "and rewritten" % dp.ANNOTATION]
    assert api.objects[CM]["metadata"]["annotations"] == {dp.ANNOTATION: json.dumps([SIGNALS])}
