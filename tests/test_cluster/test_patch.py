"""Merge patch, JSON patch, strategic merge patch and server-side apply of the test cluster."""

from __future__ import annotations

import copy

import pytest

from tests.cluster.patch import (
    ApplyConflict,
    PatchError,
    decode_fields,
    encode_fields,
    json_patch,
    merge_patch,
    path_string,
    server_side_apply,
    strategic_merge_patch,
    track_update,
)

T1, T2, T3 = "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"


# --------------------------------------------------------------------------- RFC 7386


@pytest.mark.parametrize("target,patch,result", [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_patch_rfc7386_examples(target, patch, result):
    assert merge_patch(target, patch) == result


def test_merge_patch_leaves_input_untouched():
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


# --------------------------------------------------------------------------- RFC 6902


@pytest.mark.parametrize("doc,ops,result", [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"foo": "bar", "baz": "qux"}),
    ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
     {"foo": ["bar", "qux", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}],
     {"baz": "boo", "foo": "bar"}),
    ({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    ({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
     {"foo": ["all", "cows", "eat", "grass"]}),
    ({"baz": "qux", "foo": ["a", 2, "c"]},
     [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
     {"baz": "qux", "foo": ["a", 2, "c"]}),
    ({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}], {"foo": "bar", "baz": "qux"}),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
     {"foo": ["bar", ["abc", "def"]]}),
    ({"a/b": {"m~n": 1}}, [{"op": "replace", "path": "/a~1b/m~0n", "value": 2}], {"a/b": {"m~n": 2}}),
    ({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"}], {"a": {"b": 1}, "c": {"b": 1}}),
    ({"metadata": {"labels": {"x": "1"}}}, [{"op": "remove", "path": "/metadata/labels/x"}],
     {"metadata": {"labels": {}}}),
])
def test_json_patch_rfc6902_examples(doc, ops, result):
    original = copy.deepcopy(doc)
    assert json_patch(doc, ops) == result
    assert doc == original


@pytest.mark.parametrize("doc,ops", [
    ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]),
    ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}]),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}]),
    ({"foo": 1}, [{"op": "remove", "path": "/bar"}]),
    ({"foo": 1}, [{"op": "replace", "path": "/bar", "value": 2}]),
    ({"foo": [1]}, [{"op": "add", "path": "/foo/5", "value": 2}]),
    ({"foo": 1}, [{"op": "frobnicate", "path": "/foo"}]),
    ({"foo": 1}, [{"op": "add", "path": "/bar"}]),
    ({"foo": 1}, [{"op": "move", "from": "/nope", "path": "/bar"}]),
])
def test_json_patch_failing_operation_is_422(doc, ops):
    with pytest.raises(PatchError) as info:
        json_patch(doc, ops)
    assert (info.value.code, info.value.reason) == (422, "Invalid")
    assert info.value.message == "the server rejected our request due to an error in our request"


def test_json_patch_is_all_or_nothing():
    doc = {"a": 1}
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "add", "path": "/b", "value": 2}, {"op": "test", "path": "/a", "value": 3}])
    assert doc == {"a": 1}


def test_json_patch_malformed_body_is_400():
    with pytest.raises(PatchError) as info:
        json_patch({}, {"op": "add"})
    assert (info.value.code, info.value.reason) == (400, "BadRequest")


# --------------------------------------------------------------------------- strategic merge patch


def deployment(containers, **spec):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "web"}},
                                                 "spec": {"containers": containers}}, **spec}}


def containers_of(obj):
    return obj["spec"]["template"]["spec"]["containers"]


def smp_dep(obj, spec_patch):
    return strategic_merge_patch(obj, {"spec": spec_patch}, "apps/v1", "Deployment")


def tpl(**pod_spec):
    return {"template": {"spec": pod_spec}}


def test_smp_merges_containers_by_name_and_env_by_name():
    obj = deployment([{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                      {"name": "b", "image": "b:1"}])
    out = smp_dep(obj, tpl(containers=[{"name": "a", "env": [{"name": "Y", "value": "3"}, {"name": "Z", "value": "4"}]},
                                       {"name": "c", "image": "c:1"}]))
    assert containers_of(out) == [
        {"name": "a", "image": "a:1",
         "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "3"}, {"name": "Z", "value": "4"}]},
        {"name": "b", "image": "b:1"},
        {"name": "c", "image": "c:1"},
    ]
    assert out["spec"]["replicas"] == 1 and out["metadata"]["name"] == "web"


def test_smp_ports_by_container_port_and_volume_mounts_by_mount_path():
    obj = deployment([{"name": "a", "ports": [{"containerPort": 80, "name": "http"}],
                       "volumeMounts": [{"mountPath": "/data", "name": "d"}]}])
    out = smp_dep(obj, tpl(containers=[{"name": "a", "ports": [{"containerPort": 80, "protocol": "TCP"},
                                                               {"containerPort": 443}],
                                        "volumeMounts": [{"mountPath": "/data", "readOnly": True}]}]))
    c = containers_of(out)[0]
    assert c["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443}]
    assert c["volumeMounts"] == [{"mountPath": "/data", "name": "d", "readOnly": True}]


def test_smp_patch_delete_removes_list_element():
    obj = deployment([{"name": "a"}, {"name": "b"}])
    out = smp_dep(obj, tpl(containers=[{"name": "a", "$patch": "delete"}]))
    assert containers_of(out) == [{"name": "b"}]


def test_smp_patch_replace_in_list_replaces_whole_list():
    obj = deployment([{"name": "a", "image": "x"}, {"name": "b"}])
    out = smp_dep(obj, tpl(containers=[{"name": "c"}, {"$patch": "replace"}]))
    assert containers_of(out) == [{"name": "c"}]


def test_smp_patch_replace_in_map_replaces_map():
    obj = deployment([{"name": "a"}])
    obj["metadata"]["labels"] = {"x": "1", "y": "2"}
    out = strategic_merge_patch(obj, {"metadata": {"labels": {"z": "3", "$patch": "replace"}}}, "apps/v1",
                                "Deployment")
    assert out["metadata"]["labels"] == {"z": "3"}


def test_smp_patch_delete_in_map_empties_map():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    out = strategic_merge_patch(obj, {"data": {"$patch": "delete"}}, "v1", "ConfigMap")
    assert out["data"] == {}


def test_smp_patch_merge_directive_merges():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    out = strategic_merge_patch(obj, {"data": {"b": "2", "$patch": "merge"}}, "v1", "ConfigMap")
    assert out["data"] == {"a": "1", "b": "2"}


def test_smp_unknown_directive_is_rejected():
    with pytest.raises(PatchError) as info:
        strategic_merge_patch({"data": {}}, {"data": {"$patch": "bogus"}}, "v1", "ConfigMap")
    assert info.value.code == 400


def test_smp_finalizers_merge_as_set_and_delete_from_primitive_list():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["a", "b"]}}
    out = strategic_merge_patch(obj, {"metadata": {"finalizers": ["b", "c"]}}, "v1", "ConfigMap")
    assert out["metadata"]["finalizers"] == ["a", "b", "c"]
    out = strategic_merge_patch(out, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "c"]}}, "v1",
                                "ConfigMap")
    assert out["metadata"]["finalizers"] == ["b"]


def test_smp_set_element_order():
    obj = deployment([{"name": "a"}, {"name": "b"}, {"name": "c"}])
    out = smp_dep(obj, tpl(**{"$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}],
                              "containers": [{"name": "b", "image": "b:2"}]}))
    assert containers_of(out) == [{"name": "c"}, {"name": "b", "image": "b:2"}, {"name": "a"}]


def test_smp_retain_keys_on_deployment_strategy():
    obj = deployment([{"name": "a"}], strategy={"type": "RollingUpdate",
                                                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    out = smp_dep(obj, {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}})
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_volumes_merge_by_name_with_retain_keys():
    obj = deployment([{"name": "a"}])
    obj["spec"]["template"]["spec"]["volumes"] = [{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}]
    out = smp_dep(obj, tpl(volumes=[{"name": "v", "$retainKeys": ["name", "secret"],
                                     "secret": {"secretName": "s"}}]))
    assert out["spec"]["template"]["spec"]["volumes"] == [{"name": "v", "secret": {"secretName": "s"}},
                                                          {"name": "w", "emptyDir": {}}]


def test_smp_null_deletes_key():
    obj = deployment([{"name": "a", "image": "x", "command": ["sh"]}])
    out = smp_dep(obj, {"replicas": None, **tpl(containers=[{"name": "a", "command": None}])})
    assert "replicas" not in out["spec"]
    assert containers_of(out) == [{"name": "a", "image": "x"}]


def test_smp_service_ports_merge_by_port():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"a": "b"}}}
    out = strategic_merge_patch(svc, {"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443}]}}, "v1",
                                "Service")
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 8080, "name": "http"}, {"port": 443}]
    assert out["spec"]["selector"] == {"a": "b"}


@pytest.mark.parametrize("api_version,kind,field,old,new", [
    ("networking.k8s.io/v1", "NetworkPolicy", "ingress", [{"from": [{"podSelector": {}}]}], [{"ports": [{"port": 1}]}]),
    ("rbac.authorization.k8s.io/v1", "Role", "rules", [{"verbs": ["get"]}], [{"verbs": ["list"]}]),
    ("apps/v1", "Deployment", "tolerations", [{"key": "a"}], [{"key": "b"}]),
])
def test_smp_lists_without_merge_key_are_replaced(api_version, kind, field, old, new):
    if kind == "NetworkPolicy":
        obj, patch = {"spec": {field: old}}, {"spec": {field: new}}
        path = ("spec", field)
    elif kind == "Role":
        obj, patch = {field: old}, {field: new}
        path = (field,)
    else:
        obj = deployment([{"name": "a"}])
        obj["spec"]["template"]["spec"][field] = old
        patch = {"spec": tpl(**{field: new})}
        path = ("spec", "template", "spec", field)
    value = strategic_merge_patch(obj, patch, api_version, kind)
    for key in path:
        value = value[key]
    assert value == new


def test_smp_owner_references_by_uid_and_conditions_by_type():
    obj = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "d", "ownerReferences": [{"uid": "1", "name": "a"}]},
           "status": {"conditions": [{"type": "Available", "status": "False"}]}}
    out = strategic_merge_patch(obj, {"metadata": {"ownerReferences": [{"uid": "2", "name": "b"}]},
                                      "status": {"conditions": [{"type": "Available", "status": "True"}]}},
                                "apps/v1", "Deployment")
    assert [o["uid"] for o in out["metadata"]["ownerReferences"]] == ["1", "2"]
    assert out["status"]["conditions"] == [{"type": "Available", "status": "True"}]


def test_smp_configmap_data_merges_and_new_fields_lose_directives():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    out = strategic_merge_patch(obj, {"data": {"b": "2"}, "metadata": {"labels": {"x": "y", "$patch": "merge"}}},
                                "v1", "ConfigMap")
    assert out["data"] == {"a": "1", "b": "2"}
    assert out["metadata"]["labels"] == {"x": "y"}


def test_smp_missing_merge_key_is_rejected():
    with pytest.raises(PatchError) as info:
        smp_dep(deployment([{"name": "a"}]), tpl(containers=[{"image": "x"}]))
    assert info.value.code == 400
    assert "does not contain declared merge key: name" in info.value.message


# --------------------------------------------------------------------------- fieldsV1


def test_fields_v1_round_trip():
    tree = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}, "f:name": {}}}},
            "f:finalizers": {'v:"x"': {}}}
    assert encode_fields(decode_fields(tree)) == tree


def test_path_string_formats():
    assert path_string((("f", "spec"), ("f", "containers"), ("k", '{"name":"nginx"}'), ("f", "image"))) == \
        '.spec.containers[name="nginx"].image'
    assert path_string((("f", "ports"), ("k", '{"port":80,"protocol":"TCP"}'))) == '.ports[port=80,protocol="TCP"]'
    assert path_string((("f", "finalizers"), ("v", '"a"'))) == '.finalizers[="a"]'


# --------------------------------------------------------------------------- server-side apply


def cm(data=None, labels=None, **meta):
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns", **meta}}
    if labels is not None:
        obj["metadata"]["labels"] = labels
    if data is not None:
        obj["data"] = data
    return obj


def apply(live, config, manager="mgr", force=False, now=T1, api_version="v1", kind="ConfigMap"):
    return server_side_apply(live, config, manager=manager, force=force, api_version=api_version, kind=kind,
                             now=now)


def entries(obj):
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields", [])}


def test_apply_creates_with_apply_entry():
    out = apply(None, cm({"key": "v"}, {"app": "x"}))
    assert out["data"] == {"key": "v"} and out["metadata"]["labels"] == {"app": "x"}
    assert out["metadata"]["managedFields"] == [{
        "manager": "mgr", "operation": "Apply", "apiVersion": "v1", "time": T1, "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {"f:key": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}}]


def test_apply_does_not_own_identity_metadata():
    out = apply(None, cm({"a": "1"}, uid="u", resourceVersion="5", generation=3))
    fields = out["metadata"]["managedFields"][0]["fieldsV1"]
    assert "f:metadata" not in fields and "f:apiVersion" not in fields and "f:kind" not in fields


def test_reapply_identical_config_is_noop():
    first = apply(None, cm({"key": "v"}, {"app": "x"}))
    again = apply(first, cm({"key": "v"}, {"app": "x"}), now=T2)
    assert again == first


def test_apply_change_bumps_time_of_own_entry_only():
    first = apply(None, cm({"key": "v"}), manager="a")
    both = apply(first, cm(labels={"l": "1"}), manager="b", now=T2)
    changed = apply(both, cm({"key": "w"}), manager="a", now=T3)
    assert changed["data"] == {"key": "w"}
    assert entries(changed)[("a", "Apply")]["time"] == T3
    assert entries(changed)[("b", "Apply")]["time"] == T2
    assert [e["manager"] for e in changed["metadata"]["managedFields"]] == ["b", "a"]


def test_apply_conflict_between_two_appliers():
    live = apply(None, cm({"key": "v"}), manager="first")
    with pytest.raises(ApplyConflict) as info:
        apply(live, cm({"key": "other"}), manager="second", now=T2)
    err = info.value
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == 'Apply failed with 1 conflict: conflict with "first": .data.key'
    assert err.causes == [{"reason": "FieldManagerConflict", "message": 'conflict with "first"',
                           "field": ".data.key"}]


def test_apply_conflict_with_update_manager_mentions_api_version():
    live = apply(None, cm({"key": "v"}), manager="mgr")
    updated = copy.deepcopy(live)
    updated["data"]["key"] = "edited"
    updated["metadata"]["managedFields"] = track_update(live, updated, manager="kubectl-edit", api_version="v1",
                                                        subresource=None, now=T2)
    with pytest.raises(ApplyConflict) as info:
        apply(updated, cm({"key": "v"}), manager="mgr", now=T3)
    assert info.value.message == 'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.key'


def test_apply_conflict_several_fields_and_managers():
    live = apply(None, cm({"a": "1", "b": "2"}), manager="one")
    live = apply(live, cm(labels={"x": "1"}), manager="two", now=T2)
    with pytest.raises(ApplyConflict) as info:
        apply(live, cm({"a": "9", "b": "9"}, {"x": "9"}), manager="three", now=T3)
    assert info.value.message == ('Apply failed with 3 conflicts: conflicts with "one":\n- .data.a\n- .data.b\n'
                                  'conflicts with "two":\n- .metadata.labels.x')
    assert [c["field"] for c in info.value.causes] == [".data.a", ".data.b", ".metadata.labels.x"]


def test_apply_conflict_with_subresource_manager():
    live = apply(None, cm({"a": "1"}), manager="one")
    new = copy.deepcopy(live)
    new["data"]["a"] = "2"
    new["metadata"]["managedFields"] = track_update(live, new, manager="ctl", api_version="v1",
                                                    subresource="status", now=T2)
    with pytest.raises(ApplyConflict) as info:
        apply(new, cm({"a": "3"}), manager="one", now=T3)
    assert info.value.causes[0]["message"] == 'conflict with "ctl" with subresource "status" using v1'


def test_apply_force_takes_ownership():
    live = apply(None, cm({"key": "v", "other": "o"}), manager="first")
    out = apply(live, cm({"key": "forced"}), manager="second", force=True, now=T2)
    assert out["data"] == {"key": "forced", "other": "o"}
    assert entries(out)[("first", "Apply")]["fieldsV1"] == {"f:data": {"f:other": {}}}
    assert entries(out)[("second", "Apply")]["fieldsV1"] == {"f:data": {"f:key": {}}}


def test_apply_force_removes_manager_left_with_nothing():
    live = apply(None, cm({"key": "v"}), manager="first")
    out = apply(live, cm({"key": "forced"}), manager="second", force=True, now=T2)
    assert [e["manager"] for e in out["metadata"]["managedFields"]] == ["second"]


def test_apply_removes_fields_no_longer_applied():
    live = apply(None, cm({"a": "1", "b": "2"}, {"keep": "1", "drop": "1"}))
    out = apply(live, cm({"a": "1"}, {"keep": "1"}), now=T2)
    assert out["data"] == {"a": "1"} and out["metadata"]["labels"] == {"keep": "1"}
    assert entries(out)[("mgr", "Apply")]["fieldsV1"] == {"f:data": {"f:a": {}},
                                                          "f:metadata": {"f:labels": {"f:keep": {}}}}
    assert entries(out)[("mgr", "Apply")]["time"] == T2


def test_apply_removing_all_labels_drops_the_map():
    live = apply(None, cm({"a": "1"}, {"x": "1"}))
    out = apply(live, cm({"a": "1"}), now=T2)
    assert "labels" not in out["metadata"]


def test_apply_keeps_dropped_field_owned_by_another_manager():
    live = apply(None, cm({"shared": "s", "mine": "m"}), manager="a")
    live = apply(live, cm({"shared": "s"}), manager="b", now=T2)  # same value: shared ownership
    assert entries(live)[("b", "Apply")]["fieldsV1"] == {"f:data": {"f:shared": {}}}
    out = apply(live, cm({"mine": "m"}), manager="a", now=T3)
    assert out["data"] == {"shared": "s", "mine": "m"}
    assert entries(out)[("a", "Apply")]["fieldsV1"] == {"f:data": {"f:mine": {}}}


def test_shared_field_cannot_be_changed_by_one_owner_without_force():
    live = apply(None, cm({"shared": "s"}), manager="a")
    live = apply(live, cm({"shared": "s"}), manager="b", now=T2)
    with pytest.raises(ApplyConflict) as info:
        apply(live, cm({"shared": "t"}), manager="a", now=T3)
    assert info.value.causes[0]["message"] == 'conflict with "b"'


def test_apply_field_set_by_update_without_owner_conflict_is_kept_when_unmentioned():
    live = apply(None, cm({"a": "1"}), manager="applier")
    new = copy.deepcopy(live)
    new["data"]["b"] = "2"
    new["metadata"]["managedFields"] = track_update(live, new, manager="ctl", api_version="v1", subresource=None,
                                                    now=T2)
    out = apply(new, cm({"a": "1"}), manager="applier", now=T3)
    assert out == new


def deploy_config(*containers, replicas=None):
    spec = {"selector": {"matchLabels": {"app": "w"}},
            "template": {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": list(containers)}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "namespace": "ns"},
            "spec": spec}


def dapply(live, config, manager="mgr", force=False, now=T1):
    return apply(live, config, manager=manager, force=force, now=now, api_version="apps/v1", kind="Deployment")


def test_apply_list_map_items_are_owned_separately():
    live = dapply(None, deploy_config({"name": "app", "image": "app:1"}), manager="a")
    live = dapply(live, deploy_config({"name": "sidecar", "image": "side:1"}), manager="b", now=T2)
    assert [c["name"] for c in live["spec"]["template"]["spec"]["containers"]] == ["app", "sidecar"]
    fields = entries(live)[("a", "Apply")]["fieldsV1"]
    assert fields["f:spec"]["f:template"]["f:spec"]["f:containers"] == {
        'k:{"name":"app"}': {".": {}, "f:image": {}, "f:name": {}}}
    with pytest.raises(ApplyConflict) as info:
        dapply(live, deploy_config({"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "side:2"}),
               manager="a", now=T3)
    assert info.value.message == ('Apply failed with 1 conflict: conflict with "b": '
                                  '.spec.template.spec.containers[name="sidecar"].image')


def test_apply_drops_list_map_item_no_longer_applied():
    live = dapply(None, deploy_config({"name": "app", "image": "a"}, {"name": "old", "image": "o"}))
    out = dapply(live, deploy_config({"name": "app", "image": "a"}), now=T2)
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["app"]


def test_apply_merges_list_map_items_in_structured_merge_order():
    live = dapply(None, deploy_config({"name": "a", "image": "a"}, {"name": "b", "image": "b"},
                                      {"name": "c", "image": "c"}), manager="one")
    out = dapply(live, deploy_config({"name": "c", "image": "c2"}, {"name": "a", "image": "a"}, {"name": "d"}),
                 manager="two", force=True, now=T2)
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["b", "c", "a", "d"]
    assert containers[1] == {"name": "c", "image": "c2"}


def test_apply_container_ports_keyed_by_port_and_default_protocol():
    live = dapply(None, deploy_config({"name": "app", "ports": [{"containerPort": 80}]}))
    ports = entries(live)[("mgr", "Apply")]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][
        'k:{"name":"app"}']["f:ports"]
    assert ports == {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}


def test_apply_finalizers_are_a_set():
    live = apply(None, cm(finalizers=["a/x"]), manager="one")
    live = apply(live, cm(finalizers=["b/y"]), manager="two", now=T2)
    assert live["metadata"]["finalizers"] == ["a/x", "b/y"]
    assert entries(live)[("two", "Apply")]["fieldsV1"] == {"f:metadata": {"f:finalizers": {'v:"b/y"': {}}}}
    out = apply(live, cm(), manager="one", now=T3)
    assert out["metadata"]["finalizers"] == ["b/y"]


def test_apply_custom_resource_lists_are_atomic():
    cr = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
          "spec": {"items": [{"name": "a", "v": 1}]}}
    live = apply(None, cr, manager="one", api_version="example.com/v1", kind="Widget")
    assert entries(live)[("one", "Apply")]["fieldsV1"] == {"f:spec": {"f:items": {}}}
    other = copy.deepcopy(cr)
    other["spec"]["items"] = [{"name": "b", "v": 2}]
    with pytest.raises(ApplyConflict) as info:
        apply(live, other, manager="two", now=T2, api_version="example.com/v1", kind="Widget")
    assert info.value.causes[0]["field"] == ".spec.items"
    forced = apply(live, other, manager="two", force=True, now=T2, api_version="example.com/v1", kind="Widget")
    assert forced["spec"]["items"] == [{"name": "b", "v": 2}]


def test_apply_to_status_subresource_records_subresource():
    live = dapply(None, deploy_config({"name": "a", "image": "a"}))
    status = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "namespace": "ns"},
              "status": {"replicas": 1}}
    out = server_side_apply(live, status, manager="ctl", force=False, api_version="apps/v1", kind="Deployment",
                            now=T2, subresource="status")
    entry = entries(out)[("ctl", "Apply")]
    assert entry["subresource"] == "status" and entry["fieldsV1"] == {"f:status": {"f:replicas": {}}}


def test_apply_keeps_fields_it_does_not_mention():
    live = cm({"a": "1"}, uid="u-1", resourceVersion="7", creationTimestamp=T1)
    out = apply(live, cm(labels={"x": "y"}), now=T2)
    assert out["data"] == {"a": "1"}
    assert out["metadata"]["uid"] == "u-1" and out["metadata"]["resourceVersion"] == "7"


# --------------------------------------------------------------------------- track_update


def test_track_update_on_create_records_update_entry():
    mf = track_update(None, cm({"key": "v"}, {"app": "x"}), manager="OpenAPI-Generator", api_version="v1",
                      subresource=None, now=T1)
    assert mf == [{"manager": "OpenAPI-Generator", "operation": "Update", "apiVersion": "v1", "time": T1,
                   "fieldsType": "FieldsV1",
                   "fieldsV1": {"f:data": {".": {}, "f:key": {}},
                                "f:metadata": {"f:labels": {".": {}, "f:app": {}}}}}]


def test_track_update_unchanged_object_keeps_entries_and_times():
    live = cm({"key": "v"})
    live["metadata"]["managedFields"] = track_update(None, live, manager="m", api_version="v1", subresource=None,
                                                     now=T1)
    assert track_update(live, copy.deepcopy(live), manager="m", api_version="v1", subresource=None,
                        now=T2) == live["metadata"]["managedFields"]
    assert track_update(live, copy.deepcopy(live), manager="other", api_version="v1", subresource=None,
                        now=T2) == live["metadata"]["managedFields"]


def test_track_update_moves_ownership_of_changed_fields():
    live = apply(None, cm({"a": "1", "b": "2"}), manager="applier")
    new = copy.deepcopy(live)
    new["data"]["a"] = "changed"
    mf = track_update(live, new, manager="editor", api_version="v1", subresource=None, now=T2)
    by = {e["manager"]: e for e in mf}
    assert by["applier"]["fieldsV1"] == {"f:data": {"f:b": {}}} and by["applier"]["time"] == T1
    assert by["editor"]["fieldsV1"] == {"f:data": {"f:a": {}}} and by["editor"]["time"] == T2
    assert [e["operation"] for e in mf] == ["Apply", "Update"]


def test_track_update_removed_fields_leave_all_entries():
    live = apply(None, cm({"a": "1", "b": "2"}), manager="applier")
    new = copy.deepcopy(live)
    del new["data"]["a"]
    mf = track_update(live, new, manager="editor", api_version="v1", subresource=None, now=T2)
    assert mf == [{**live["metadata"]["managedFields"][0], "fieldsV1": {"f:data": {"f:b": {}}}}]


def test_track_update_status_subresource_entry():
    live = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 1}}
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 1, "conditions": [{"type": "Available", "status": "True"}]}
    mf = track_update(live, new, manager="kube-controller-manager", api_version="apps/v1", subresource="status",
                      now=T2)
    assert mf[0]["subresource"] == "status"
    assert mf[0]["fieldsV1"] == {"f:status": {"f:conditions": {'k:{"type":"Available"}': {
        ".": {}, "f:status": {}, "f:type": {}}}, "f:replicas": {}}}


def test_track_update_same_manager_entries_merge():
    live = cm({"a": "1"})
    live["metadata"]["managedFields"] = track_update(None, live, manager="m", api_version="v1", subresource=None,
                                                     now=T1)
    new = copy.deepcopy(live)
    new["data"]["b"] = "2"
    mf = track_update(live, new, manager="m", api_version="v1", subresource=None, now=T2)
    assert len(mf) == 1 and mf[0]["time"] == T2
    assert mf[0]["fieldsV1"] == {"f:data": {".": {}, "f:a": {}, "f:b": {}}}


def test_track_update_empty_entry_clears_managed_fields():
    live = cm({"a": "1"})
    live["metadata"]["managedFields"] = track_update(None, live, manager="m", api_version="v1", subresource=None,
                                                     now=T1)
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = [{}]
    assert track_update(live, new, manager="m", api_version="v1", subresource=None, now=T2) == []
