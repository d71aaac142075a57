"""Schema validation, pruning and defaulting of the test cluster."""

from __future__ import annotations

import copy
import functools

import pytest
import yaml

from tests.cluster import validation
from tests.cluster.config import default_crds_dir
from tests.cluster.validation import FieldError, validate_builtin, validate_custom

SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "string", "enum": ["small", "large"]},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8, "minLength": 2},
                "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                "note": {"type": "string", "nullable": True},
                "mode": {"type": "string", "default": "auto"},
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                "servers": {"type": "array", "items": {
                    "type": "object", "properties": {"host": {"type": "string"},
                                                     "tls": {"type": "boolean", "default": False}}}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                          "properties": {"level": {"type": "integer"}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "x-kubernetes-preserve-unknown-fields": True},
                "nested": {"type": "object", "default": {}, "properties": {
                    "inner": {"type": "string", "default": "x"}}},
                "checked": {"type": "integer", "x-kubernetes-validations": [{"rule": "self > 100"}]},
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}
VERSION = {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": SCHEMA}}


def widget(**spec):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns"},
            "spec": {"size": "small", **spec}}


def test_valid_object_gets_defaults():
    result = validate_custom(widget(servers=[{"host": "a"}]), VERSION)
    assert result.errors == [] and result.unknown_fields == []
    assert result.obj["spec"] == {"size": "small", "servers": [{"host": "a", "tls": False}], "replicas": 1,
                                  "mode": "auto", "nested": {"inner": "x"}}


def test_input_is_not_modified():
    obj = widget(bogus=1)
    before = copy.deepcopy(obj)
    validate_custom(obj, VERSION)
    assert obj == before


def test_unknown_fields_are_pruned_and_reported():
    obj = widget(bogus=1, servers=[{"host": "a", "weight": 3}], extra={"level": 1, "free": {"x": 1}})
    obj["topLevel"] = True
    obj["status"] = {"phase": "Ready", "junk": 1}
    result = validate_custom(obj, VERSION)
    assert result.unknown_fields == ["spec.bogus", "spec.servers[0].weight", "topLevel", "status.junk"]
    assert "bogus" not in result.obj["spec"] and "topLevel" not in result.obj
    assert result.obj["spec"]["servers"] == [{"host": "a", "tls": False}]
    assert result.obj["spec"]["extra"] == {"level": 1, "free": {"x": 1}}
    assert result.obj["status"] == {"phase": "Ready"}


def test_root_metadata_is_kept_but_unknown_meta_fields_dropped():
    obj = widget()
    obj["metadata"].update(labels={"a": "b"}, annotations={"x": "y"}, finalizers=["f"], color="red")
    result = validate_custom(obj, VERSION)
    assert result.obj["metadata"] == {"name": "w", "namespace": "ns", "labels": {"a": "b"},
                                      "annotations": {"x": "y"}, "finalizers": ["f"]}
    assert result.unknown_fields == ["metadata.color"]


def test_embedded_resource_and_map_values_are_kept():
    template = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}}
    result = validate_custom(widget(template=template, labels={"a": "b"}), VERSION)
    assert result.errors == [] and result.unknown_fields == []
    assert result.obj["spec"]["template"] == template and result.obj["spec"]["labels"] == {"a": "b"}


@pytest.mark.parametrize("spec,field,reason,message", [
    ({"replicas": "three"}, "spec.replicas", "FieldValueTypeInvalid",
     'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"'),
    ({"name": 5}, "spec.name", "FieldValueTypeInvalid",
     'spec.name: Invalid value: "integer": spec.name in body must be of type string: "integer"'),
    ({"size": "medium"}, "spec.size", "FieldValueNotSupported",
     'spec.size: Unsupported value: "medium": supported values: "small", "large"'),
    ({"replicas": 11}, "spec.replicas", "FieldValueInvalid",
     "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
    ({"replicas": 0}, "spec.replicas", "FieldValueInvalid",
     "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"),
    ({"name": "ABC"}, "spec.name", "FieldValueInvalid",
     "spec.name: Invalid value: \"ABC\": spec.name in body should match '^[a-z]+$'"),
    ({"name": "abcdefghij"}, "spec.name", "FieldValueTooLong", "spec.name: Too long: may not be longer than 8"),
    ({"name": "a"}, "spec.name", "FieldValueInvalid",
     'spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long'),
    ({"tags": ["a", "b", "c"]}, "spec.tags", "FieldValueTooMany",
     "spec.tags: Too many: 3: must have at most 2 items"),
    ({"servers": [{"host": 1}]}, "spec.servers[0].host", "FieldValueTypeInvalid",
     'spec.servers[0].host: Invalid value: "integer": spec.servers[0].host in body must be of type string: '
     '"integer"'),
    ({"labels": {"a": True}}, "spec.labels.a", "FieldValueTypeInvalid",
     'spec.labels.a: Invalid value: "boolean": spec.labels.a in body must be of type string: "boolean"'),
])
def test_errors_in_api_server_format(spec, field, reason, message):
    result = validate_custom(widget(**spec), VERSION)
    assert result.errors == [FieldError(field, reason, message)]
    assert result.errors[0].body == message[len(field) + 2:]


def test_wrong_type_for_enum_field_reports_type_error():
    result = validate_custom(widget(size=3), VERSION)
    assert FieldError("spec.size", "FieldValueTypeInvalid",
                      'spec.size: Invalid value: "integer": spec.size in body must be of type string: "integer"'
                      ) in result.errors


def test_required_field():
    obj = widget()
    del obj["spec"]["size"]
    result = validate_custom(obj, VERSION)
    assert result.errors == [FieldError("spec.size", "FieldValueRequired", "spec.size: Required value")]
    partial = validate_custom(obj, VERSION, partial=True)
    assert partial.errors == [] and partial.obj == obj  # an apply configuration gets no defaults


def test_several_errors_are_all_reported():
    result = validate_custom(widget(replicas="x", size="huge"), VERSION)
    assert [e.field for e in result.errors] == ["spec.replicas", "spec.size"]


@pytest.mark.parametrize("port", [8080, "http"])
def test_int_or_string_accepts_both(port):
    assert validate_custom(widget(port=port), VERSION).errors == []


def test_int_or_string_rejects_other_types():
    result = validate_custom(widget(port=True), VERSION)
    assert [(e.field, e.reason) for e in result.errors] == [("spec.port", "FieldValueTypeInvalid")]


def test_nullable_keeps_null_and_non_nullable_null_is_pruned_then_defaulted():
    result = validate_custom(widget(note=None, mode=None, name=None), VERSION)
    assert result.errors == []
    assert result.obj["spec"]["note"] is None
    assert result.obj["spec"]["mode"] == "auto"
    assert "name" not in result.obj["spec"]


def test_cel_rules_are_ignored_and_integral_floats_are_integers():
    assert validate_custom(widget(checked=5, replicas=2.0), VERSION).errors == []


def test_null_keywords_in_schema_are_ignored():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "port": {"x-kubernetes-int-or-string": True, "anyOf": None, "required": None,
                 "allOf": [{"not": {"enum": [0]}}]}}}}}
    version = {"name": "v1", "schema": {"openAPIV3Schema": schema}}
    assert validate_custom({"spec": {"port": "http"}}, version).errors == []
    assert [e.field for e in validate_custom({"spec": {"port": 0}}, version).errors] == ["spec.port"]


def test_schema_less_version_accepts_anything():
    obj = widget(anything={"goes": 1})
    result = validate_custom(obj, {"name": "v1"})
    assert result.obj == obj and result.errors == [] and result.unknown_fields == []


def test_compiled_validator_is_cached_per_schema():
    first = validation._custom_validator(SCHEMA)
    assert validation._custom_validator(SCHEMA) is first
    assert validation._custom_validator(copy.deepcopy(SCHEMA)) is first  # same content, same validator


# --------------------------------------------------------------------------- real CRDs

CRDS = default_crds_dir()
needs_crds = pytest.mark.skipif(CRDS is None, reason="upstream CRDs folder not found (set ORCHESTRATOR_TEST_CRDS)")


@functools.lru_cache(maxsize=None)
def crd_version(filename: str, version: str) -> dict:
    with open(CRDS / filename) as handle:
        crd = yaml.load(handle, Loader=yaml.CSafeLoader)
    return next(v for v in crd["spec"]["versions"] if v["name"] == version)


REAL = [
    ("operator.knative.dev_knativeservings.yaml", "v1beta1",
     {"apiVersion": "operator.knative.dev/v1beta1", "kind": "KnativeServing",
      "metadata": {"name": "knative-serving", "namespace": "knative-serving"},
      "spec": {"high-availability": {"replicas": 2}, "config": {"network": {"ingress-class": "kourier"}}}},
     ("spec", "high-availability", "replicas"), "two"),
    ("sonataflow.org_sonataflowplatforms.yaml", "v1alpha08",
     {"apiVersion": "sonataflow.org/v1alpha08", "kind": "SonataFlowPlatform",
      "metadata": {"name": "sonataflow-platform", "namespace": "sonataflow-infra"},
      "spec": {"services": {"dataIndex": {"enabled": True, "persistence": {"postgresql": {
          "secretRef": {"name": "pg", "userKey": "user", "passwordKey": "password"},
          "serviceRef": {"name": "pg", "namespace": "db", "databaseName": "sonataflow", "port": 5432}}}},
          "jobService": {"enabled": True}}}},
     ("spec", "services", "dataIndex", "enabled"), "yes"),
    ("operators.coreos.com_subscriptions.yaml", "v1alpha1",
     {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
      "metadata": {"name": "serverless-operator", "namespace": "openshift-serverless"},
      "spec": {"channel": "stable", "installPlanApproval": "Automatic", "name": "serverless-operator",
               "source": "redhat-operators", "sourceNamespace": "openshift-marketplace"}},
     ("spec", "channel"), 5),
    ("route.openshift.io_routes.yaml", "v1",
     {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "r", "namespace": "n"},
      "spec": {"to": {"kind": "Service", "name": "svc"}, "port": {"targetPort": "http"},
               "tls": {"termination": "edge"}}},
     ("spec", "to", "name"), 7),
    ("rhdh.redhat.com_backstages.yaml", "v1alpha3",
     {"apiVersion": "rhdh.redhat.com/v1alpha3", "kind": "Backstage",
      "metadata": {"name": "backstage", "namespace": "rhdh"},
      "spec": {"application": {"appConfig": {"configMaps": [{"name": "app-config-rhdh"}],
                                             "mountPath": "/opt/app-root/src"},
                               "replicas": 1, "route": {"enabled": True}},
               "database": {"enableLocalDb": False}}},
     ("spec", "application", "replicas"), "one"),
]


def _set(obj: dict, path: tuple, value) -> dict:
    obj = copy.deepcopy(obj)
    cur = obj
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = value
    return obj


@needs_crds
@pytest.mark.parametrize("filename,version,obj,bad_path,bad_value", REAL, ids=[r[0].split("_")[1] for r in REAL])
def test_real_crd_accepts_valid_object(filename, version, obj, bad_path, bad_value):
    ver = crd_version(filename, version)
    result = validate_custom(obj, ver)
    assert result.errors == [] and result.unknown_fields == []
    for key in obj["spec"]:
        assert key in result.obj["spec"]
    again = validate_custom(obj, ver)  # served from the cached validator
    assert again.obj == result.obj


@needs_crds
@pytest.mark.parametrize("filename,version,obj,bad_path,bad_value", REAL, ids=[r[0].split("_")[1] for r in REAL])
def test_real_crd_reports_unknown_field_and_type_error(filename, version, obj, bad_path, bad_value):
    ver = crd_version(filename, version)
    broken = _set(_set(obj, ("spec", "notAField"), {"x": 1}), bad_path, bad_value)
    result = validate_custom(broken, ver)
    assert result.unknown_fields == ["spec.notAField"]
    assert "notAField" not in result.obj["spec"]
    field = ".".join(bad_path)
    assert [(e.field, e.reason) for e in result.errors] == [(field, "FieldValueTypeInvalid")]
    assert result.errors[0].message.startswith(f"{field}: Invalid value: ")


@needs_crds
def test_real_crd_required_and_defaults():
    ver = crd_version("operators.coreos.com_subscriptions.yaml", "v1alpha1")
    sub = copy.deepcopy(REAL[2][2])
    del sub["spec"]["source"]
    result = validate_custom(sub, ver)
    assert result.errors == [FieldError("spec.source", "FieldValueRequired", "spec.source: Required value")]
    platform = crd_version("sonataflow.org_sonataflowplatforms.yaml", "v1alpha08")
    out = validate_custom(REAL[1][2], platform).obj
    assert out["spec"]["services"]["dataIndex"]["persistence"]["dbMigrationStrategy"] == "service"


@needs_crds
def test_large_schema_validator_is_reused():
    ver = crd_version("sonataflow.org_sonataflowplatforms.yaml", "v1alpha08")
    schema = ver["schema"]["openAPIV3Schema"]
    validate_custom(REAL[1][2], ver)
    assert validation._CUSTOM_CACHE[id(schema)][0] is schema
    assert validation._custom_validator(schema) is validation._CUSTOM_CACHE[id(schema)][1]


# --------------------------------------------------------------------------- built-in kinds


def deployment(**spec):
    base = {"selector": {"matchLabels": {"app": "w"}},
            "template": {"metadata": {"labels": {"app": "w"}},
                         "spec": {"containers": [{"name": "w", "image": "w:1", "ports": [{"containerPort": 80}]}]}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "namespace": "ns"},
            "spec": {**base, **spec}}


@pytest.mark.parametrize("obj", [
    deployment(replicas=2),
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}, "type": "Opaque"},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "labels": {"a": "b"}}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"},
     "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
     "spec": {"ports": [{"port": 80, "targetPort": "http"}], "selector": {"a": "b"}}},
])
def test_builtin_valid_objects(obj):
    result = validate_builtin(obj)
    assert result.errors == [] and result.unknown_fields == [] and result.obj == obj


def test_builtin_unknown_fields_reported_and_pruned():
    obj = deployment(bogus=1)
    obj["metadata"]["color"] = "red"
    obj["spec"]["template"]["spec"]["containers"][0]["imageName"] = "x"
    result = validate_builtin(obj)
    assert sorted(result.unknown_fields) == ["metadata.color", "spec.bogus",
                                             "spec.template.spec.containers[0].imageName"]
    assert "bogus" not in result.obj["spec"] and "color" not in result.obj["metadata"]
    assert "imageName" not in result.obj["spec"]["template"]["spec"]["containers"][0]
    assert result.errors == []


def test_builtin_type_error():
    result = validate_builtin(deployment(replicas="two"))
    assert result.errors == [FieldError(
        "spec.replicas", "FieldValueTypeInvalid",
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"')]


def test_builtin_required_and_partial():
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": {"replicas": 1}}
    assert [(e.field, e.reason) for e in validate_builtin(obj).errors] == [
        ("spec.selector", "FieldValueRequired"), ("spec.template", "FieldValueRequired")]
    assert validate_builtin(obj, partial=True).errors == []


def test_builtin_unknown_kind_passes_through():
    obj = {"apiVersion": "example.com/v1", "kind": "Nothing", "metadata": {"name": "x"}, "anything": 1}
    result = validate_builtin(obj)
    assert result.obj == obj and result.errors == [] and result.unknown_fields == []


def test_builtin_older_and_newer_versions():
    assert validate_builtin(deployment(), kubernetes_version="1.27").errors == []
    assert validate_builtin(deployment(), kubernetes_version="1.29.7").errors == []
