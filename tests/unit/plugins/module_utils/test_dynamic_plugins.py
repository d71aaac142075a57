"""The pure merge of plugin entries into a dynamic plugins document."""

import json

import pytest
import yaml

from ansible_collections.parodos.orchestrator.plugins.module_utils import dynamic_plugins as dp

ORCH = "@redhat/backstage-plugin-orchestrator"
ORCH_BACKEND = "@redhat/backstage-plugin-orchestrator-backend-dynamic"
SIGNALS = "@redhat/plugin-signals-dynamic"
K8S = "./dynamic-plugins/dist/backstage-plugin-kubernetes"

# A user's document: their own plugins, an include of their own and another top-level key.
USER_TEXT = """\
includes:
  - dynamic-plugins.default.yaml
  - my-extra.yaml
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
  - package: '@redhat/backstage-plugin-orchestrator@1.2.0'
    integrity: sha512-old
    disabled: true
  - package: ./dynamic-plugins/dist/backstage-plugin-github-actions
    disabled: true
extraSetting: keep-me
"""


def plugin(package, integrity=None, disabled=False, config=None):
    return {"package": package, "integrity": integrity, "disabled": disabled, "pluginConfig": config}


WANTED = [
    plugin(ORCH + "@1.3.0", "sha512-front", config={"dynamicPlugins": {"frontend": {
        "janus-idp.backstage-plugin-orchestrator": {"dynamicRoutes": [{"path": "/orchestrator"}]}}}}),
    plugin(ORCH_BACKEND + "@1.3.0", "sha512-back",
           config={"orchestrator": {"dataIndexService": {"url": "http://data-index.sonataflow-infra"}}}),
    plugin(SIGNALS + "@1.3.0", "sha512-signals"),
]


@pytest.mark.parametrize("package, expected", [
    ("@redhat/backstage-plugin-orchestrator@1.3.0", "@redhat/backstage-plugin-orchestrator"),
    ("@redhat/backstage-plugin-orchestrator", "@redhat/backstage-plugin-orchestrator"),
    ("@scope/name@^1.2.3-next.0", "@scope/name"),
    ("left-pad@1.0.0", "left-pad"),
    ("left-pad", "left-pad"),
    ("  @scope/x@1 ", "@scope/x"),
    ("./dynamic-plugins/dist/janus-idp-backstage-plugin-tekton", "./dynamic-plugins/dist/janus-idp-backstage-plugin-tekton"),
    ("./dynamic-plugins/dist/a@b", "./dynamic-plugins/dist/a@b"),
    ("/opt/plugins/x@1", "/opt/plugins/x@1"),
    ("https://example.test/pkg-1.0.tgz", "https://example.test/pkg-1.0.tgz"),
    ("oci://quay.io/acme/plugins:1.2!acme-plugin", "oci://quay.io/acme/plugins!acme-plugin"),
    ("oci://registry.test:5000/acme/plugins!acme-plugin", "oci://registry.test:5000/acme/plugins!acme-plugin"),
    ("oci://quay.io/acme/plugins@sha256:abc!p", "oci://quay.io/acme/plugins!p"),
])
def test_identity(package, expected):
    assert dp.identity(package) == expected


def test_first_run_on_a_users_document_keeps_everything_of_theirs():
    doc = dp.parse(USER_TEXT)
    new, report = dp.merge(doc, WANTED, [])
    assert report == {"added": [ORCH_BACKEND, SIGNALS], "updated": [ORCH], "removed": [],
                      "managed": sorted([ORCH, ORCH_BACKEND, SIGNALS])}
    assert new["includes"] == ["dynamic-plugins.default.yaml", "my-extra.yaml"]
    assert new["extraSetting"] == "keep-me"
    assert list(new) == ["includes", "plugins", "extraSetting"]
    packages = [e["package"] for e in new["plugins"]]
    assert packages == ["./dynamic-plugins/dist/backstage-plugin-techdocs-backend-dynamic",
                        "@acme/backstage-plugin-dashboard@2.0.1",
                        ORCH + "@1.3.0",  # in place of the user's older entry
                        "./dynamic-plugins/dist/backstage-plugin-github-actions",
                        ORCH_BACKEND + "@1.3.0", SIGNALS + "@1.3.0"]
    # foreign entries untouched, byte for byte once parsed
    for index in (0, 1, 3):
        assert new["plugins"][index] == doc["plugins"][index]
    assert new["plugins"][2] == {"package": ORCH + "@1.3.0", "integrity": "sha512-front", "disabled": False,
                                 "pluginConfig": WANTED[0]["pluginConfig"]}
    assert new["plugins"][5] == {"package": SIGNALS + "@1.3.0", "integrity": "sha512-signals", "disabled": False}
    # the input was not modified
    assert doc == dp.parse(USER_TEXT)


def test_rerun_changes_nothing():
    first, report = dp.merge(dp.parse(USER_TEXT), WANTED, [])
    reparsed = dp.parse(dp.dump(first))
    assert reparsed == first
    second, report = dp.merge(reparsed, WANTED, report["managed"])
    assert second == reparsed
    assert report["added"] == report["updated"] == report["removed"] == []


def test_version_bump_updates_in_place():
    first, report = dp.merge(dp.parse(USER_TEXT), WANTED, [])
    bumped = [dict(WANTED[0]), dict(WANTED[1], package=ORCH_BACKEND + "@1.4.0", integrity="sha512-new"), WANTED[2]]
    second, report = dp.merge(first, bumped, report["managed"])
    assert report["updated"] == [ORCH_BACKEND] and report["added"] == [] and report["removed"] == []
    assert [e["package"] for e in second["plugins"]].index(ORCH_BACKEND + "@1.4.0") == 4
    assert second["plugins"][4]["integrity"] == "sha512-new"
    assert len(second["plugins"]) == len(first["plugins"])


def test_a_plugin_of_ours_no_longer_wanted_is_removed_foreign_ones_are_not():
    first, report = dp.merge(dp.parse(USER_TEXT), WANTED, [])
    # signals is no longer wanted; the dashboard was never ours
    second, report = dp.merge(first, WANTED[:2], report["managed"])
    assert report["removed"] == [SIGNALS] and report["added"] == [] and report["updated"] == []
    assert report["managed"] == sorted([ORCH, ORCH_BACKEND])
    packages = [e["package"] for e in second["plugins"]]
    assert SIGNALS + "@1.3.0" not in packages
    assert "@acme/backstage-plugin-dashboard@2.0.1" in packages
    # a plugin not recorded as ours stays even when not wanted
    third, report = dp.merge(second, [], ["@not/present"])
    assert third == second and report["removed"] == []


def test_repeats_of_a_wanted_plugin_collapse_into_the_first():
    doc = {"plugins": [{"package": SIGNALS + "@1.2.0"}, {"package": K8S, "disabled": True},
                       {"package": SIGNALS + "@1.3.0", "integrity": "sha512-signals", "disabled": False}]}
    new, report = dp.merge(doc, [WANTED[2]], [])
    assert new["plugins"] == [dp.wanted_entry(WANTED[2]), {"package": K8S, "disabled": True}]
    assert report["updated"] == [SIGNALS] and report["added"] == []


def test_a_repeat_equal_to_the_wanted_entry_still_counts_as_a_change():
    entry = dp.wanted_entry(WANTED[2])
    new, report = dp.merge({"plugins": [entry, dict(entry)]}, [WANTED[2]], [SIGNALS])
    assert new == {"plugins": [entry]} and report["updated"] == [SIGNALS]


def test_local_paths_and_entries_without_package():
    doc = {"plugins": [{"disabled": True}, "odd", {"package": K8S, "disabled": True}]}
    new, report = dp.merge(doc, [plugin(K8S)], [])
    assert new["plugins"] == [{"disabled": True}, "odd", {"package": K8S, "disabled": False}]
    assert report["updated"] == [K8S]


def test_new_document_and_missing_plugins_key():
    new, report = dp.merge(dp.parse(""), WANTED[2:], [])
    assert new == {"includes": ["dynamic-plugins.default.yaml"], "plugins": [dp.wanted_entry(WANTED[2])]}
    assert dp.parse(None) == dp.parse("   \n") == dp.parse("# only a comment\n") == dp.new_document()
    new, report = dp.merge({"includes": ["x.yaml"]}, [], [])
    assert new == {"includes": ["x.yaml"]}
    new, report = dp.merge({"includes": ["x.yaml"]}, WANTED[2:], [])
    assert new == {"includes": ["x.yaml"], "plugins": [dp.wanted_entry(WANTED[2])]}


@pytest.mark.parametrize("text, message", [
    ("plugins: [a\n", "not valid YAML"),
    ("- a\n- b\n", "the top level is a list, not a mapping"),
    ("just text", "the top level is a str, not a mapping"),
    ("plugins:\n  package: x\n", "plugins is a dict, not a list"),
    ("plugins: nope\n", "plugins is a str, not a list"),
])
def test_parse_errors(text, message):
    with pytest.raises(dp.DocumentError, match=message):
        dp.parse(text)


def test_dump_keeps_order_block_style_and_round_trips():
    first, report = dp.merge(dp.parse(USER_TEXT), WANTED, [])
    text = dp.dump(first)
    assert text.startswith("includes:\n- dynamic-plugins.default.yaml\n")
    assert "{" not in text.replace("{}", "")  # block style except empty mappings
    assert "'@redhat/backstage-plugin-orchestrator@1.3.0'" in text  # a leading @ is quoted
    assert yaml.safe_load(text) == first


def test_recorded_annotation():
    assert dp.recorded({}) == ([], "")
    assert dp.recorded({dp.ANNOTATION: json.dumps([ORCH, SIGNALS])}) == ([ORCH, SIGNALS], "")
    for bad in ("not json", '{"a": 1}', "[1, 2]"):
        ours, warning = dp.recorded({dp.ANNOTATION: bad})
        assert ours == [] and dp.ANNOTATION in warning
    assert dp.annotation_value([SIGNALS, ORCH, SIGNALS]) == json.dumps([ORCH, SIGNALS])


def test_validate():
    assert dp.validate(WANTED) == []
    errors = dp.validate([plugin(ORCH + "@1.3.0"), plugin(""), plugin(ORCH + "@1.4.0"),
                          plugin(K8S, config=["x"])])
    assert errors == ["plugins[1]: package must not be empty",
                      "plugins[2]: %s@1.4.0 is the same plugin as plugins[0]" % ORCH,
                      "plugins[3]: pluginConfig of %s must be a mapping" % K8S]


def test_configmap_body():
    doc, report = dp.merge(dp.new_document(), WANTED[2:], [])
    body = dp.configmap("dp", "rhdh", "dynamic-plugins.yaml", doc, report["managed"], {"team": "a"})
    assert body["metadata"] == {
        "name": "dp", "namespace": "rhdh",
        "labels": {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator",
                   "team": "a"},
        "annotations": {dp.ANNOTATION: json.dumps([SIGNALS])}}
    assert yaml.safe_load(body["data"]["dynamic-plugins.yaml"]) == doc


def test_patch_writes_only_what_differs_and_never_labels():
    existing = {"metadata": {"name": "dp", "resourceVersion": "7", "labels": {"team": "a"},
                             "annotations": {dp.ANNOTATION: json.dumps([SIGNALS])}},
                "data": {"dynamic-plugins.yaml": USER_TEXT}}
    doc = dp.parse(USER_TEXT)
    assert dp.patch(existing, "dynamic-plugins.yaml", doc, doc, [SIGNALS]) is None
    body = dp.patch(existing, "dynamic-plugins.yaml", doc, doc, [ORCH, SIGNALS])
    assert body == {"metadata": {"annotations": {dp.ANNOTATION: json.dumps([ORCH, SIGNALS])},
                                 "resourceVersion": "7"}}
    new, report = dp.merge(doc, WANTED, [SIGNALS])
    body = dp.patch(existing, "dynamic-plugins.yaml", doc, new, report["managed"])
    assert set(body) == {"data", "metadata"} and "labels" not in body["metadata"]
    assert yaml.safe_load(body["data"]["dynamic-plugins.yaml"]) == new
    # an empty key is filled even when the parsed documents are equal
    empty = {"metadata": {"resourceVersion": "1"}, "data": {}}
    body = dp.patch(empty, "k", dp.new_document(), dp.new_document(), [])
    assert body["data"] == {"k": dp.dump(dp.new_document())}
