"""The dynamic_plugins module against an in-memory API, and main() as Ansible runs it."""

import copy
import json

import yaml

from ansible_collections.parodos.orchestrator.plugins.module_utils import dynamic_plugins as dp
from ansible_collections.parodos.orchestrator.plugins.module_utils.k8s import ApiError
from ansible_collections.parodos.orchestrator.plugins.modules import dynamic_plugins

CMS = "/api/v1/namespaces/rhdh/configmaps"
CM = CMS + "/dp"
KEY = "dynamic-plugins.yaml"
SIGNALS = "@redhat/plugin-signals-dynamic"
OURS = {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator"}


def merge_patch(obj, patch):
    out = copy.deepcopy(obj)
    for field, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(field), dict):
            out[field] = merge_patch(out[field], value)
        elif value is None:
            out.pop(field, None)
        else:
            out[field] = copy.deepcopy(value)
    return out


class FakeApi:
    """ConfigMaps by path with resourceVersions; records (method, path, dry_run)."""

    def __init__(self, objects=None, namespaces=("rhdh",), conflicts=0):
        self.objects = copy.deepcopy(objects or {})
        self.namespaces = namespaces
        self.conflicts = conflicts  # how many writes to answer with 409 (someone changed it meanwhile)
        self.requests = []

    def get(self, path, query=None):
        self.requests.append(("GET", path, False))
        if path not in self.objects:
            raise ApiError("not found", 404)
        return copy.deepcopy(self.objects[path])

    def create(self, path, body, dry_run=False):
        self.requests.append(("POST", path, dry_run))
        if path.split("/")[4] not in self.namespaces:
            raise ApiError('namespaces "%s" not found' % path.split("/")[4], 404)
        target = path + "/" + body["metadata"]["name"]
        if target in self.objects:
            raise ApiError("already exists", 409)
        if not dry_run:
            self.objects[target] = merge_patch(body, {"metadata": {"resourceVersion": "1"}})
        return body

    def merge_patch(self, path, body, dry_run=False):
        self.requests.append(("PATCH", path, dry_run))
        current = self.objects[path]
        if self.conflicts:
            self.conflicts -= 1
            current["metadata"]["resourceVersion"] = str(int(current["metadata"]["resourceVersion"]) + 1)
        wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise ApiError("the object has been modified", 409)
        obj = merge_patch(current, body)
        obj["metadata"]["resourceVersion"] = str(int(current["metadata"]["resourceVersion"]) + 1)
        if not dry_run:
            self.objects[path] = obj
        return obj

    def writes(self):
        return [r for r in self.requests if r[0] != "GET"]


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
    api = FakeApi()
    report = dynamic_plugins.ensure(api, params(labels={"extra": "x"}), False)
    assert report.changed and report.created and report.added == [SIGNALS]
    assert api.writes() == [("POST", CMS, False)]
    meta = api.objects[CM]["metadata"]
    assert meta["labels"] == dict(OURS, extra="x")
    assert meta["annotations"] == {dp.ANNOTATION: json.dumps([SIGNALS])}
    assert doc(api) == {"includes": ["dynamic-plugins.default.yaml"],
                        "plugins": [{"package": SIGNALS + "@1.3.0", "integrity": "sha512-s", "disabled": False}]}
    api.requests.clear()
    report = dynamic_plugins.ensure(api, params(), False)
    assert not report.changed and not report.created and api.requests == [("GET", CM, False)]
    assert report.before == report.after == doc(api)


def test_users_configmap_is_changed_but_not_labelled():
    text = "includes: [dynamic-plugins.default.yaml]\nplugins:\n- package: ./x\n  disabled: true  # mine\n"
    api = FakeApi(user_configmap(text))
    report = dynamic_plugins.ensure(api, params(), False)
    assert report.changed and not report.created and report.added == [SIGNALS]
    assert api.writes() == [("PATCH", CM, False)]
    meta = api.objects[CM]["metadata"]
    assert meta["labels"] == {"team": "a"}
    assert meta["annotations"] == {dp.ANNOTATION: json.dumps([SIGNALS])}
    assert doc(api)["plugins"][0] == {"package": "./x", "disabled": True}
    assert report.before == yaml.safe_load(text)
    # the comment-free rewrite now compares equal: nothing more to write
    api.requests.clear()
    assert not dynamic_plugins.ensure(api, params(), False).changed
    assert api.writes() == []


def test_formatting_alone_causes_no_write():
    text = ("# managed elsewhere too\nincludes:\n  - dynamic-plugins.default.yaml\nplugins:\n"
            "  - {package: '@redhat/plugin-signals-dynamic@1.3.0', integrity: sha512-s, disabled: false}\n")
    api = FakeApi(user_configmap(text, {dp.ANNOTATION: json.dumps([SIGNALS])}))
    report = dynamic_plugins.ensure(api, params(), False)
    assert not report.changed and api.writes() == []
    assert api.objects[CM]["data"][KEY] == text


def test_lost_annotation_is_written_back_without_touching_the_data():
    text = dp.dump({"plugins": [{"package": SIGNALS + "@1.3.0", "integrity": "sha512-s", "disabled": False}]})
    api = FakeApi(user_configmap(text))
    report = dynamic_plugins.ensure(api, params(), False)
    assert report.changed and report.added == report.updated == report.removed == []
    assert api.objects[CM]["data"][KEY] == text
    assert api.objects[CM]["metadata"]["annotations"] == {dp.ANNOTATION: json.dumps([SIGNALS])}


def test_removal_of_a_plugin_no_longer_wanted():
    api = FakeApi()
    k8s_plugin = {"package": "./k8s", "disabled": False, "integrity": None, "pluginConfig": {"kubernetes": {"x": 1}}}
    two = params(plugins=params()["plugins"] + [k8s_plugin])
    dynamic_plugins.ensure(api, two, False)
    assert [e["package"] for e in doc(api)["plugins"]] == [SIGNALS + "@1.3.0", "./k8s"]
    report = dynamic_plugins.ensure(api, params(), False)
    assert report.removed == ["./k8s"] and report.changed
    assert [e["package"] for e in doc(api)["plugins"]] == [SIGNALS + "@1.3.0"]
    assert api.objects[CM]["metadata"]["annotations"][dp.ANNOTATION] == json.dumps([SIGNALS])


def test_check_mode_sends_dry_runs_only():
    api = FakeApi(namespaces=())
    report = dynamic_plugins.ensure(api, params(), True)
    assert report.changed and report.created
    assert api.writes() == [("POST", CMS, True)] and api.objects == {}
    api = FakeApi(user_configmap("plugins: []\n"))
    report = dynamic_plugins.ensure(api, params(), True)
    assert report.changed and report.added == [SIGNALS]
    assert api.writes() == [("PATCH", CM, True)]
    assert api.objects[CM]["data"][KEY] == "plugins: []\n"


def test_missing_namespace_fails_outside_check_mode():
    api = FakeApi(namespaces=())
    try:
        dynamic_plugins.ensure(api, params(), False)
    except ApiError as exc:
        assert exc.status == 404
    else:
        raise AssertionError("no failure")


def test_concurrent_change_is_read_again():
    api = FakeApi(user_configmap("plugins: []\n"), conflicts=1)
    report = dynamic_plugins.ensure(api, params(), False)
    assert report.changed
    assert api.writes() == [("PATCH", CM, False), ("PATCH", CM, False)]
    assert [r[0] for r in api.requests] == ["GET", "PATCH", "GET", "PATCH"]
    assert doc(api)["plugins"][0]["package"] == SIGNALS + "@1.3.0"


def test_main_result_and_diff(run_module):
    api = FakeApi(user_configmap("plugins:\n- package: '@redhat/plugin-signals-dynamic@1.2.0'\n"))
    code, result = run_module(dynamic_plugins, params(), api=api, diff=True)
    assert code == 0, result
    assert result["changed"] is True and result["created"] is False
    assert result["configmap"] == {"name": "dp", "namespace": "rhdh"}
    assert result["updated"] == [SIGNALS] and result["added"] == [] and result["removed"] == []
    assert result["diff"]["before"] == {"plugins": [{"package": SIGNALS + "@1.2.0"}]}
    assert result["diff"]["after"]["plugins"][0]["package"] == SIGNALS + "@1.3.0"


def test_main_fails_naming_configmap_and_key_on_bad_yaml(run_module):
    api = FakeApi(user_configmap("plugins: [oops\n"))
    code, result = run_module(dynamic_plugins, params(), api=api)
    assert code == 1 and result["failed"] is True
    assert result["msg"].startswith("ConfigMap rhdh/dp, key dynamic-plugins.yaml: not valid YAML")
    assert "nothing was written" in result["msg"]
    assert api.writes() == []


def test_main_fails_when_absent_and_create_false(run_module):
    api = FakeApi()
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
    api = FakeApi(user_configmap("plugins: []\n", {dp.ANNOTATION: "garbage"}))
    report = dynamic_plugins.ensure(api, params(), False)
    assert report.added == [SIGNALS]
    assert report.warnings == ["ConfigMap rhdh/dp: annotation %s is not a JSON list of plugin names; it is ignored "
                               "and rewritten" % dp.ANNOTATION]
    assert api.objects[CM]["metadata"]["annotations"] == {dp.ANNOTATION: json.dumps([SIGNALS])}
