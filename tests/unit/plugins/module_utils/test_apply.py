"""The one apply path: decisions, diffs, definitions, the Applier against an in-memory API, waiting."""

import base64
import copy
import json

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import apply as ap
from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s, waiter
from tests.unit.fakes import Clock, FakeApi, real_api

MARK = {k8s.MANAGED_BY: "parodos.orchestrator"}
OURS = dict(k8s.OWNERSHIP_LABELS)
NS_PATH = "/api/v1/namespaces"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def config_map(data=None, labels=None, namespace="demo", name="settings", **extra):
    meta = {"name": name, "namespace": namespace}
    if labels is not None:
        meta["labels"] = dict(labels)
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data or {"key": "value"})}
    obj.update(extra)
    return obj


def secret(labels=None, namespace="demo", name="creds", **fields):
    meta = {"name": name, "namespace": namespace}
    if labels is not None:
        meta["labels"] = dict(labels)
    return dict({"apiVersion": "v1", "kind": "Secret", "metadata": meta}, **fields)


def served(obj):
    """``obj`` as the server returns it: metadata, managedFields and status added."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    meta.update(uid="0d4e", resourceVersion="7", creationTimestamp="2026-01-01T00:00:00Z",
                managedFields=[{"manager": "parodos.orchestrator", "operation": "Update",
                                "fieldsV1": {"f:data": {"f:key": {}}}}])
    if out.get("kind") == "Secret":
        data = dict(out.get("data") or {})
        data.update((key, b64(value)) for key, value in (out.pop("stringData", None) or {}).items())
        out["data"] = data
        out.setdefault("type", "Opaque")
    return out


# ------------------------------------------------------------------ decide


@pytest.mark.parametrize("current, wanted, action", [
    (None, config_map(), ap.CREATE),
    # without the collection's mark: reused, whatever it holds
    (config_map(labels={}), config_map(), ap.REUSE),
    (config_map(labels={k8s.MANAGED_BY: "helm"}), config_map(), ap.REUSE),
    (config_map(labels={"app.kubernetes.io/part-of": "orchestrator"}), config_map(), ap.REUSE),
    (config_map({"key": "other"}, labels={}), config_map({"key": "value"}), ap.REUSE),
    # the mark alone makes it ours
    (config_map(labels=MARK), config_map(labels=MARK), ap.KEEP),
    (config_map(labels=OURS), config_map(labels=OURS), ap.KEEP),
    # fields the server or others added do not count
    (served(config_map({"key": "value", "more": "x"}, labels=dict(OURS, extra="label"))),
     config_map(labels=OURS), ap.KEEP),
    (dict(config_map(labels=OURS), status={"phase": "x"}), config_map(labels=OURS), ap.KEEP),
    # what is set must be there with the same value
    (config_map({"key": "old"}, labels=OURS), config_map({"key": "value"}, labels=OURS), ap.UPDATE),
    (config_map(labels=MARK), config_map(labels=OURS), ap.UPDATE),
    (config_map(labels=OURS), config_map(labels=OURS, data={"key": "value", "new": "1"}), ap.UPDATE),
])
def test_decide(current, wanted, action):
    assert ap.decide(current, wanted) == action


def deployment(containers):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "demo",
                                                                        "labels": dict(OURS)},
            "spec": {"replicas": 1, "template": {"spec": {"containers": containers}}}}


@pytest.mark.parametrize("current, wanted, action", [
    # a list item may carry fields the server added
    ([{"name": "web", "image": "web:1", "imagePullPolicy": "IfNotPresent", "resources": {}}],
     [{"name": "web", "image": "web:1"}], ap.KEEP),
    ([{"name": "web", "image": "web:1"}], [{"name": "web", "image": "web:2"}], ap.UPDATE),
    # lists compare item by item: one more, one less or another order is a change
    ([{"name": "web", "image": "web:1"}], [{"name": "web", "image": "web:1"}, {"name": "side", "image": "s"}],
     ap.UPDATE),
    ([{"name": "web", "image": "web:1"}, {"name": "side", "image": "s"}], [{"name": "web", "image": "web:1"}],
     ap.UPDATE),
    ([{"name": "side", "image": "s"}, {"name": "web", "image": "web:1"}],
     [{"name": "web", "image": "web:1"}, {"name": "side", "image": "s"}], ap.UPDATE),
])
def test_decide_lists(current, wanted, action):
    assert ap.decide(served(deployment(current)), deployment(wanted)) == action


@pytest.mark.parametrize("current, wanted, action", [
    # stringData wanted, data stored: compared decoded
    ({"data": {"password": b64("s3cret")}}, {"stringData": {"password": "s3cret"}}, ap.KEEP),
    ({"data": {"password": b64("s3cret")}}, {"data": {"password": b64("s3cret")}}, ap.KEEP),
    ({"data": {"password": b64("s3cret"), "user": b64("u")}}, {"stringData": {"password": "s3cret"}}, ap.KEEP),
    ({"data": {"password": b64("s3cret")}}, {"stringData": {"password": "other"}}, ap.UPDATE),
    ({"data": {"password": b64("s3cret")}}, {"data": {"password": b64("other")}}, ap.UPDATE),
    ({"data": {"password": b64("s3cret")}}, {"stringData": {"user": "u"}}, ap.UPDATE),
    # both in one object: stringData wins, as on the server
    ({"data": {"password": b64("new")}}, {"data": {"password": b64("old")}, "stringData": {"password": "new"}},
     ap.KEEP),
    ({"type": "Opaque", "data": {"a": b64("1")}}, {"type": "Opaque", "stringData": {"a": "1"}}, ap.KEEP),
])
def test_decide_secrets(current, wanted, action):
    assert ap.decide(served(secret(OURS, **current)), secret(OURS, **wanted)) == action


def test_a_field_set_to_null_is_kept_only_when_absent():
    wanted = config_map(labels=OURS, binaryData=None)
    assert ap.decide(served(config_map(labels=OURS)), wanted) == ap.KEEP
    assert ap.decide(served(config_map(labels=OURS, binaryData={"b": "AA=="})), wanted) == ap.UPDATE


# ------------------------------------------------------------------ diff


def test_diff_of_a_create_shows_what_is_set():
    wanted = config_map(labels=OURS)
    assert ap.diff(None, wanted) == {"before": {}, "after": wanted}


def test_diff_shows_only_the_fields_set_and_names_the_object():
    wanted = config_map({"key": "new"}, labels=OURS)
    current = served(config_map({"key": "old", "other": "kept"}, labels=dict(OURS, extra="x")))
    current["status"] = {"observed": 1}
    result = ap.diff(current, wanted)
    head = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "demo"}}
    assert result["before"] == dict(head, metadata=dict(head["metadata"], labels=OURS), data={"key": "old"})
    assert result["after"] == dict(head, metadata=dict(head["metadata"], labels=OURS), data={"key": "new"})
    text = json.dumps(result)
    for noise in ("managedFields", "uid", "resourceVersion", "creationTimestamp", "status", "other", "extra"):
        assert noise not in text


VALUES = ["kept-password-value", "old-token-value", "new-token-value", "added-key-value"]


@pytest.mark.parametrize("wanted_field", ["stringData", "data"])
def test_diff_of_a_secret_shows_which_values_change_and_no_value(wanted_field):
    current = served(secret(OURS, data={"password": b64(VALUES[0]), "token": b64(VALUES[1]),
                                        "untouched": b64("untouched-value")}))
    plain = {"password": VALUES[0], "token": VALUES[2], "added": VALUES[3]}
    values = plain if wanted_field == "stringData" else {key: b64(value) for key, value in plain.items()}
    wanted = secret(OURS, **{wanted_field: values})
    result = ap.diff(current, wanted)
    assert result["before"]["data"] == {"password": ap.REDACTED, "token": ap.REDACTED}
    assert result["after"]["data"] == {"password": ap.REDACTED, "token": ap.REDACTED_CHANGED,
                                       "added": ap.REDACTED_CHANGED}
    assert "stringData" not in result["after"] and "stringData" not in result["before"]
    text = json.dumps(result)
    for value in VALUES + ["untouched-value"]:
        assert value not in text and b64(value) not in text
    assert ap.decide(current, wanted) == ap.UPDATE


def test_diff_of_a_new_secret_has_no_value():
    result = ap.diff(None, secret(OURS, stringData={"password": VALUES[0]}, type="Opaque"))
    assert result["before"] == {}
    assert result["after"]["data"] == {"password": ap.REDACTED_CHANGED}
    assert result["after"]["type"] == "Opaque"
    assert VALUES[0] not in json.dumps(result)


def test_redacted_definition_hides_the_values_of_every_secret():
    text = ("apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: demo}\nstringData: {p: %s}\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: demo}\ndata: {k: shown}\n" % VALUES[0])
    out = ap.redacted_definition(text)
    assert out[0]["stringData"] == {"p": ap.REDACTED} and out[1]["data"] == {"k": "shown"}
    nested = [[secret(data={"p": b64(VALUES[1])})], secret(stringData="p: %s" % VALUES[2]), config_map()]
    out = ap.redacted_definition(nested)
    assert out[0][0]["data"] == {"p": ap.REDACTED} and out[1]["stringData"] == ap.REDACTED
    assert out[2] == config_map()
    assert ap.redacted_definition("a: [%s" % VALUES[3]) == ap.REDACTED
    assert not any(v in json.dumps([ap.redacted_definition(text), out]) for v in VALUES)


def test_redact_replaces_every_value():
    obj = secret(OURS, data={"a": b64("x" * 20)}, stringData={"b": "y" * 20})
    out = ap.redact(obj)
    assert out["data"] == {"a": ap.REDACTED} and out["stringData"] == {"b": ap.REDACTED}
    assert obj["data"]["a"] == b64("x" * 20)  # the original is left alone
    assert ap.redact(config_map()) == config_map()


# ------------------------------------------------------------------ definitions


def test_objects_of_accepts_a_list_a_mapping_yaml_documents_and_nested_lists():
    cm = config_map()
    assert ap.objects_of(cm) == ([cm], [])
    assert ap.objects_of([cm, [cm, cm]]) == ([cm, cm, cm], [])
    text = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: demo}\n---\n---\n" \
           "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n"
    objects, errors = ap.objects_of(text)
    assert errors == [] and [o["kind"] for o in objects] == ["ConfigMap", "Namespace"]
    assert ap.objects_of("") == ([], [])


@pytest.mark.parametrize("definition, message", [
    ([config_map(), "text"], "definition[1] must be a mapping"),
    ([{"kind": "ConfigMap", "metadata": {"name": "a"}}], "definition[0] (ConfigMap a): apiVersion must be set"),
    ([config_map(), {"apiVersion": "v1", "metadata": {"name": "a"}}], "definition[1] (? a): kind must be set"),
    ([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "demo"}}],
     "definition[0] (ConfigMap): metadata.name must be set"),
    ([{"apiVersion": "v1", "kind": "ConfigMap"}], "definition[0] (ConfigMap): metadata.name must be set"),
    ([config_map(), [config_map(), {"apiVersion": "v1", "kind": "Secret", "metadata": {}}]],
     "definition[1][1] (Secret): metadata.name must be set"),
    ([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}],
     "definition[0] (ConfigMap a): metadata.namespace must be set for a namespaced kind"),
    ([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a", "namespace": ""}}],
     "definition[0] (Secret a): metadata.namespace must be set for a namespaced kind"),
    ("a: [b", "definition is not valid YAML: "),
    (42, "definition must be a list of objects, an object or YAML documents"),
    ("just text", "definition[0] must be a mapping"),
])
def test_objects_of_errors_name_the_index_and_the_field(definition, message):
    objects, errors = ap.objects_of(definition)
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_objects_of_lists_every_error():
    errors = ap.objects_of([{}, "x", config_map()])[1]
    assert errors == ["definition[0] (?): apiVersion, kind, metadata.name must be set",
                      "definition[1] must be a mapping"]


# ------------------------------------------------------------------ the applier


def put(api, obj):
    """Store ``obj`` (a copy) in ``api`` at its path."""
    api.objects[ap.Applier(api).path(obj)] = copy.deepcopy(obj)


def cluster(*objects, **options):
    """A FakeApi holding ``objects``; ``options`` go to FakeApi."""
    api = FakeApi(**options)
    for obj in objects:
        put(api, obj)
    return api


def namespace(name="demo", labels=None):
    meta = {"name": name}
    if labels is not None:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


CM = NS_PATH + "/demo/configmaps"
SECRETS = NS_PATH + "/demo/secrets"


def test_create_then_keep_with_one_get_per_object():
    api = cluster(namespace())
    objects = [config_map(), secret(stringData={"password": VALUES[0]})]
    results = ap.Applier(api, labels=OURS).apply_all(objects)
    assert [r["action"] for r in results] == [ap.CREATE, ap.CREATE]
    assert api.writes() == [("POST", CM, False), ("POST", SECRETS, False)]
    assert api.objects[CM + "/settings"]["metadata"]["labels"] == OURS
    assert api.objects[SECRETS + "/creds"]["data"] == {"password": b64(VALUES[0])}

    api.requests.clear()
    applier = ap.Applier(api, labels=OURS)
    results = applier.apply_all(objects)
    assert [r["action"] for r in results] == [ap.KEEP, ap.KEEP]
    assert api.calls("method", "path", "dry_run") == [("GET", CM + "/settings", False),
                                                      ("GET", SECRETS + "/creds", False)]
    assert ap.summary(results)["changed"] is False and applier.diffs == []


def test_objects_of_one_kind_and_namespace_are_read_with_one_list_of_ours():
    theirs = config_map({"k": "theirs"}, labels={"team": "a"}, name="theirs")
    api = cluster(namespace(), served(config_map({"k": "v"}, labels=OURS, name="a")), served(theirs))
    wanted = [config_map({"k": "v"}, name=name) for name in ("a", "b", "theirs")] + [secret()]
    applier = ap.Applier(api, labels=OURS)
    results = applier.apply_all(wanted)
    assert [r["action"] for r in results] == [ap.KEEP, ap.CREATE, ap.REUSE, ap.CREATE]
    # one list of ours for the ConfigMaps; the one not in it (absent or someone else's) read on its own
    assert api.calls("method", "path", "query") == [
        ("GET", CM, {"labelSelector": "app.kubernetes.io/managed-by=parodos.orchestrator"}),
        ("GET", CM + "/b", None), ("GET", NS_PATH + "/demo", None), ("POST", CM, None), ("GET", CM + "/theirs", None),
        ("GET", SECRETS + "/creds", None), ("POST", SECRETS, None)]

    api.requests.clear()
    results = ap.Applier(api, labels=OURS).apply_all(wanted)
    assert [r["action"] for r in results] == [ap.KEEP, ap.KEEP, ap.REUSE, ap.KEEP]
    assert [c[1] for c in api.calls("method", "path")] == [CM, CM + "/theirs", SECRETS + "/creds"]


def test_a_listed_object_is_read_afresh_after_its_first_read():
    api = cluster(namespace(), served(config_map(labels=OURS, name="a")), served(config_map(labels=OURS, name="b")))
    applier = ap.Applier(api, labels=OURS)
    applier.prefetch([config_map(name="a"), config_map(name="b")])
    api.requests.clear()
    assert applier.read(config_map(name="a"))[0]["metadata"]["name"] == "a" and api.requests == []
    applier.read(config_map(name="a"))
    assert api.paths() == [CM + "/a"]


def test_namespaces_listed_as_ours_are_not_read_again():
    api = cluster(namespace("one", labels=OURS), namespace("two", labels={"team": "a"}))
    applier = ap.Applier(api, labels=OURS)
    results = applier.apply_all([namespace("one"), namespace("two")])
    assert [r["action"] for r in results] == [ap.KEEP, ap.KEEP]
    assert api.paths() == [NS_PATH, NS_PATH + "/two"] and api.writes() == []


def test_the_mark_is_put_on_what_is_created_even_without_labels():
    api = cluster(namespace())
    ap.Applier(api).apply_all([config_map()])
    assert k8s.is_ours(api.objects[CM + "/settings"])
    api.requests.clear()
    assert ap.Applier(api).apply_all([config_map()])[0]["action"] == ap.KEEP


def test_update_sends_one_merge_patch_of_the_fields_set():
    api = cluster(namespace(), served(config_map({"key": "old", "theirs": "x"}, labels=OURS)))
    [record] = ap.Applier(api, labels=OURS).apply_all([config_map({"key": "new"})])
    assert record["action"] == ap.UPDATE
    assert api.writes() == [("PATCH", CM + "/settings", False)]
    assert api.objects[CM + "/settings"]["data"] == {"key": "new", "theirs": "x"}


def test_foreign_object_is_reused_and_never_written():
    api = cluster(namespace(), served(config_map({"key": "theirs"}, labels={"team": "a"})))
    [record] = ap.Applier(api, labels=OURS).apply_all([config_map({"key": "ours"})])
    assert record["action"] == ap.REUSE and api.writes() == []
    assert ap.summary([record])["reused"] == ["ConfigMap/demo/settings"]


def test_check_mode_sends_dry_runs_only():
    api = cluster(namespace(), served(config_map({"key": "old"}, labels=OURS)))
    applier = ap.Applier(api, check_mode=True, labels=OURS)
    results = applier.apply_all([config_map({"key": "new"}), secret(stringData={"p": VALUES[0]})])
    assert [(r["action"], r["sent"]) for r in results] == [(ap.UPDATE, True), (ap.CREATE, True)]
    assert api.writes() == [("PATCH", CM + "/settings", True), ("POST", SECRETS, True)]
    assert api.objects[CM + "/settings"]["data"] == {"key": "old"} and SECRETS + "/creds" not in api.objects
    assert ap.summary(results)["changed"] is True
    assert VALUES[0] not in json.dumps(applier.diffs)


def test_check_mode_with_a_missing_namespace_reports_sent_false_and_the_namespace_once():
    api = FakeApi()
    applier = ap.Applier(api, check_mode=True, labels=OURS)
    results = applier.apply_all([config_map(), secret(stringData={"p": "v"})])
    assert [(r["ref"], r["action"], r["sent"]) for r in results] == [
        ("Namespace/demo", ap.CREATE, True), ("ConfigMap/demo/settings", ap.CREATE, False),
        ("Secret/demo/creds", ap.CREATE, False)]
    assert all("namespace demo does not exist yet" in r["why"] for r in results[1:])
    assert api.writes() == [("POST", NS_PATH, True)]
    assert api.objects == {}
    assert [d["after"]["kind"] for d in applier.diffs] == ["Namespace", "ConfigMap", "Secret"]


def test_check_mode_with_the_namespace_in_the_definition():
    api = FakeApi()
    results = ap.Applier(api, check_mode=True, labels=OURS).apply_all([namespace(), config_map()])
    assert [(r["ref"], r["action"], r["sent"]) for r in results] == [
        ("Namespace/demo", ap.CREATE, True), ("ConfigMap/demo/settings", ap.CREATE, False)]
    assert api.writes() == [("POST", NS_PATH, True)]


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_namespace_made_for_an_object_is_reported_once(check_mode):
    api = FakeApi()
    applier = ap.Applier(api, check_mode=check_mode, labels=OURS)
    results = applier.apply_all([config_map(), namespace(), secret(stringData={"p": "v"}), namespace()])
    assert [(r["ref"], r["action"]) for r in results] == [
        ("Namespace/demo", ap.CREATE), ("ConfigMap/demo/settings", ap.CREATE), ("Secret/demo/creds", ap.CREATE)]
    assert [w for w in api.writes() if w[1] == NS_PATH] == [("POST", NS_PATH, check_mode)]
    assert [(obj["kind"], record["ref"]) for obj, record in applier.applied] == [
        ("ConfigMap", "ConfigMap/demo/settings"), ("Namespace", "Namespace/demo"), ("Secret", "Secret/demo/creds"),
        ("Namespace", "Namespace/demo")]


def test_ensure_namespace_in_check_mode_made_meanwhile_is_kept():
    api = FakeApi()
    api.on_request(lambda fake: put(fake, namespace(labels=OURS)), method="POST", times=1)
    applier = ap.Applier(api, check_mode=True, labels=OURS)
    assert applier.ensure_namespace("demo") == ap.KEEP
    [record] = applier.apply_all([config_map()])
    assert (record["action"], record["sent"]) == (ap.CREATE, True)
    assert api.writes() == [("POST", NS_PATH, True), ("POST", CM, True)]


def test_ensure_namespace_whose_answer_was_lost_is_created(monkeypatch):
    fake = FakeApi()
    fake.lose_answers(method="POST", path=NS_PATH)  # stored, then the connection drops: k8s.Api asks again
    applier = ap.Applier(real_api(fake, monkeypatch), labels=OURS)
    assert applier.ensure_namespace("demo") == ap.CREATE
    assert [r["ref"] for r in applier.results] == ["Namespace/demo"]
    assert fake.calls() == [("GET", NS_PATH + "/demo"), ("POST", NS_PATH), ("POST", NS_PATH),
                            ("GET", NS_PATH + "/demo")]
    assert fake.objects[NS_PATH + "/demo"]["metadata"]["labels"] == OURS


def test_check_mode_without_creating_namespaces_sends_nothing_into_a_missing_one():
    api = FakeApi()
    [record] = ap.Applier(api, check_mode=True, labels=OURS, create_namespaces=False).apply_all([config_map()])
    assert (record["action"], record["sent"]) == (ap.CREATE, False)
    assert api.writes() == []


def test_a_missing_namespace_fails_a_real_run_without_creating_namespaces():
    api = FakeApi()
    with pytest.raises(k8s.ApiError, match="ConfigMap/demo/settings: create failed: namespaces \"demo\" not found"):
        ap.Applier(api, labels=OURS, create_namespaces=False).apply_all([config_map()])


KNATIVE = {"apiVersion": "operator.knative.dev/v1beta1", "kind": "KnativeServing",
           "metadata": {"name": "knative-serving", "namespace": "knative-serving"}, "spec": {}}
KNATIVE_API = {"/apis/operator.knative.dev/v1beta1": {"resources": [
    {"name": "knativeservings", "kind": "KnativeServing", "namespaced": True}]}}


def test_a_kind_not_served_yet():
    api = cluster(namespace("knative-serving"))
    [record] = ap.Applier(api, check_mode=True, labels=OURS).apply_all([KNATIVE])
    assert (record["action"], record["sent"]) == (ap.CREATE, False)
    assert "kind KnativeServing is not served yet" in record["why"] and api.writes() == []
    with pytest.raises(k8s.ApiError, match="KnativeServing/knative-serving/knative-serving: kind KnativeServing is "
                                           "not served by operator.knative.dev/v1beta1"):
        ap.Applier(api, labels=OURS).apply_all([KNATIVE])
    api.objects.update(KNATIVE_API)  # its CRD installed
    [record] = ap.Applier(api, labels=OURS).apply_all([KNATIVE])
    assert record["action"] == ap.CREATE and record["ready"] is False
    assert api.writes()[-1] == ("POST", "/apis/operator.knative.dev/v1beta1/namespaces/knative-serving/"
                                        "knativeservings", False)


# A kind the collection knows nothing of: its scope comes from API discovery.
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
WIDGET_API = {"/apis/example.com/v1": {"resources": [{"name": "widgets", "kind": "Widget", "namespaced": True}]}}


def test_a_namespaced_kind_without_a_namespace_is_refused_before_any_write():
    api = FakeApi(WIDGET_API)
    assert ap.objects_of([WIDGET]) == ([WIDGET], [])  # its scope is known only to the API
    with pytest.raises(ValueError, match="^Widget/w: metadata.namespace must be set for a namespaced kind$"):
        ap.Applier(api, labels=OURS).apply_all([WIDGET])
    assert api.writes() == []


@pytest.mark.parametrize("stored, action, patched", [
    (lambda wanted: wanted, ap.CREATE, False),  # what the lost answer of our own create left
    (lambda wanted: config_map({"key": "other"}, labels=OURS), ap.UPDATE, True),  # ours, made by another run
    (lambda wanted: config_map({"key": "other"}, labels={}), ap.REUSE, False),  # someone else's
])
def test_a_create_answered_already_exists_decides_again(stored, action, patched):
    api = cluster(namespace())
    wanted = config_map()
    api.on_request(lambda fake: put(fake, served(stored(ap.with_labels(wanted, OURS)))), method="POST", times=1)
    applier = ap.Applier(api, labels=OURS)
    [record] = applier.apply_all([wanted])
    assert record["action"] == action
    assert [w[0] for w in api.writes()] == ["POST"] + (["PATCH"] if patched else [])
    if patched:
        assert api.objects[CM + "/settings"]["data"] == {"key": "value"}
    assert len(applier.results) == 1


def test_a_create_whose_answer_was_lost_is_reported_as_created(monkeypatch):
    fake = cluster(namespace())
    fake.lose_answers(method="POST", path=CM)  # stored, then the connection drops: k8s.Api asks again
    [record] = ap.Applier(real_api(fake, monkeypatch), labels=OURS).apply_all([config_map()])
    assert record["action"] == ap.CREATE
    # the one create, sent again by k8s.Api, finds what it stored: read again and neither patched nor reused
    assert fake.calls() == [("GET", CM + "/settings"), ("GET", NS_PATH + "/demo"), ("POST", CM), ("POST", CM),
                            ("GET", CM + "/settings")]
    assert fake.objects[CM + "/settings"]["metadata"]["labels"] == OURS
    assert ap.summary([record])["changed"] is True


def test_ensure_namespace_creates_with_our_labels():
    api = FakeApi()
    applier = ap.Applier(api, labels=OURS)
    assert applier.ensure_namespace("demo", {"team": "a"}) == ap.CREATE
    assert api.objects[NS_PATH + "/demo"]["metadata"]["labels"] == dict(OURS, team="a")
    assert applier.ensure_namespace("demo") == ap.KEEP
    assert api.writes() == [("POST", NS_PATH, False)]


@pytest.mark.parametrize("labels", [None, {}, {"team": "theirs"}, OURS, {k8s.MANAGED_BY: "helm"}])
def test_ensure_namespace_never_changes_an_existing_namespace(labels):
    api = cluster(namespace(labels=labels))
    before = copy.deepcopy(api.objects)
    applier = ap.Applier(api, labels=dict(OURS, extra="wanted"))
    assert applier.ensure_namespace("demo", {"more": "x"}) == ap.KEEP
    results = applier.apply_all([namespace(labels={"more": "x"}), config_map()])
    assert [r["action"] for r in results] == [ap.KEEP, ap.CREATE]
    assert [w for w in api.writes() if w[1] in (NS_PATH, NS_PATH + "/demo")] == []
    assert api.objects[NS_PATH + "/demo"] == before[NS_PATH + "/demo"]


def test_ensure_namespace_made_meanwhile_is_no_failure():
    api = FakeApi()
    api.on_request(lambda fake: put(fake, namespace(labels={"team": "theirs"})), method="POST", times=1)
    applier = ap.Applier(api, labels=OURS)
    assert applier.ensure_namespace("demo") == ap.KEEP
    assert applier.apply_all([config_map()])[0]["action"] == ap.CREATE
    assert api.objects[NS_PATH + "/demo"]["metadata"]["labels"] == {"team": "theirs"}


# ------------------------------------------------------------------ waiting


def job(conditions=None):
    obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "demo"},
           "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "m"}]}}}}
    if conditions is not None:
        obj["status"] = {"conditions": conditions}
    return obj


def applied(api, objects):
    applier = ap.Applier(api, labels=OURS)
    applier.apply_all(objects)
    return applier


def test_wait_for_fails_at_once_on_a_final_failure():
    api = cluster(namespace())
    applier = applied(api, [job()])
    assert applier.results[0]["ready"] is False
    path = "/apis/batch/v1/namespaces/demo/jobs/migrate"
    api.objects[path]["status"] = {"conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "too many failures"}]}
    clock = Clock()
    message = applier.wait_for(waiter.Deadline(600, clock, clock.sleep), 2, "Database")
    assert message == ("Database: Job demo/migrate failed: Failed=True (BackoffLimitExceeded: too many failures)")
    assert clock.slept == []


def test_wait_for_names_the_object_on_timeout():
    api = cluster(namespace())
    applier = applied(api, [job(), config_map()])
    clock = Clock()
    message = applier.wait_for(waiter.Deadline(10, clock, clock.sleep), 2, "Database")
    assert message.splitlines() == [
        "Timed out after 10s: 1 of 1 resource(s) not ready:",
        "- Database: Job demo/migrate: waiting for Job Complete; last status: no Complete condition yet; "
        "0 active, 0 succeeded, 0 failed"]
    assert clock.now == 10 and sum(clock.slept) == 10
    assert applier.results[0]["ready"] is False and ap.summary(applier.results)["ready"] is False


def test_wait_for_returns_once_everything_is_ready():
    api = cluster(namespace())
    applier = applied(api, [job(), config_map()])
    clock = Clock()

    def complete():
        api.objects["/apis/batch/v1/namespaces/demo/jobs/migrate"]["status"] = {"conditions": [{"type": "Complete",
                                                                                "status": "True"}]}

    clock.on_sleep(complete)
    assert applier.wait_for(waiter.Deadline(60, clock, clock.sleep), 2) is None
    assert clock.slept == [2] and applier.results[0]["ready"] is True
    assert ap.summary(applier.results)["ready"] is True


def test_objects_found_ready_are_not_waited_for():
    api = cluster(namespace(), served(ap.with_labels(job([{"type": "Complete", "status": "True"}]), OURS)))
    applier = applied(api, [job()])
    assert applier.results[0] == dict(applier.results[0], action=ap.KEEP, ready=True)
    api.requests.clear()
    clock = Clock()
    assert applier.wait_for(waiter.Deadline(60, clock, clock.sleep), 2) is None
    assert api.requests == [] and clock.slept == []


def test_summary():
    records = [{"ref": "A", "action": ap.CREATE, "ready": None}, {"ref": "B", "action": ap.KEEP, "ready": True},
               {"ref": "C", "action": ap.REUSE, "ready": None}, {"ref": "D", "action": ap.UPDATE, "ready": False}]
    result = ap.summary(records)
    assert (result["created"], result["updated"], result["kept"], result["reused"]) == (["A"], ["D"], ["B"], ["C"])
    assert result["changed"] is True and result["ready"] is False and result["objects"] == records
    assert ap.summary(records[1:3]) == dict(ap.summary(records[1:3]), changed=False, ready=True)
