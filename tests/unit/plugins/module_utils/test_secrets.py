"""Pure helpers of generated_secret: planning, encoding and redaction."""

import base64
import itertools
import json

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils import secrets as sec


def counter_tokens():
    """A token_fn that returns distinct, recognisable values."""
    numbers = itertools.count(1)

    def make(length):
        return ("gen%d-" % next(numbers)).ljust(length, "x")

    return make


PASSWORD = [("postgres-password", 32)]


def test_first_run_generates():
    data, report = sec.plan(None, {"postgres-username": "sonataflow"}, PASSWORD, counter_tokens())
    assert data["postgres-username"] == "sonataflow"
    assert data["postgres-password"].startswith("gen1-") and len(data["postgres-password"]) == 32
    assert report["generated"] == ["postgres-password"]
    assert report["changed_keys"] == ["postgres-password", "postgres-username"]
    assert report["changes"] == data


def test_second_run_keeps_the_generated_value():
    first = sec.plan(None, {"postgres-username": "sonataflow"}, PASSWORD, counter_tokens())[0]
    second, report = sec.plan(dict(first), {"postgres-username": "sonataflow"}, PASSWORD, counter_tokens())
    assert second == first
    assert report == {"changes": {}, "generated": [], "changed_keys": [], "added": [], "updated": [],
                      "removed": []}


def test_caller_value_wins_over_stored_and_generated():
    existing = {"postgres-password": "stored-password-0123456789"}
    data, report = sec.plan(existing, {"postgres-password": "chosen"}, PASSWORD, counter_tokens())
    assert data == {"postgres-password": "chosen"}
    assert report["generated"] == []
    assert report["changed_keys"] == ["postgres-password"]


def test_caller_value_equal_to_stored_changes_nothing():
    existing = {"user": "a", "postgres-password": "p"}
    data, report = sec.plan(existing, {"user": "a", "postgres-password": "p"}, PASSWORD, counter_tokens())
    assert data == existing
    assert report["changed_keys"] == []


@pytest.mark.parametrize("existing", [{"postgres-password": ""}, {}, {"other": "kept"}])
def test_empty_or_absent_stored_value_is_generated(existing):
    data, report = sec.plan(existing, {}, PASSWORD, counter_tokens())
    assert data["postgres-password"].startswith("gen1-")
    assert report["generated"] == ["postgres-password"]
    assert report["changed_keys"] == ["postgres-password"]
    assert data.get("other") == existing.get("other")


def test_empty_given_value_for_a_generated_key_counts_as_not_given():
    data, report = sec.plan({"postgres-password": "stored"}, {"postgres-password": ""}, PASSWORD,
                            counter_tokens())
    assert data == {"postgres-password": "stored"}
    assert report["changed_keys"] == []
    data, report = sec.plan(None, {"postgres-password": ""}, PASSWORD, counter_tokens())
    assert report["generated"] == ["postgres-password"]


def test_empty_given_value_for_a_plain_key_is_written():
    data, report = sec.plan({"note": "old"}, {"note": ""}, [], counter_tokens())
    assert data == {"note": ""}
    assert report["changed_keys"] == ["note"]


def test_unmentioned_keys_are_kept_and_not_reported():
    data, report = sec.plan({"extra": "x", "user": "a"}, {"user": "b"}, [], counter_tokens())
    assert data == {"extra": "x", "user": "b"}
    assert report["changes"] == {"user": "b"}


def test_remove_takes_keys_out_unless_given_or_generated():
    existing = {"a": "1", "b": "2", "c": "3", "p": "stored"}
    data, report = sec.plan(existing, {"a": "9"}, [("p", 16)], counter_tokens(), remove=("a", "b", "p", "absent"))
    assert data == {"a": "9", "c": "3", "p": "stored"}
    assert report["changes"] == {"a": "9", "b": None}
    assert (report["added"], report["updated"], report["removed"]) == ([], ["a"], ["b"])
    assert report["changed_keys"] == ["a", "b"]


def test_added_and_updated_keys():
    data, report = sec.plan({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}, [], counter_tokens())
    assert (report["added"], report["updated"], report["removed"]) == (["c"], ["b"], [])


def test_removed_key_is_null_in_the_patch_and_gone_after_it():
    patch = sec.build_patch({"gone": None, "k": "v"}, {})
    assert patch == {"data": {"gone": None, "k": base64.b64encode(b"v").decode()}}
    out = k8s.apply_merge_patch({"data": {"gone": "eA==", "x": "eA=="}}, patch)
    assert out["data"] == {"k": base64.b64encode(b"v").decode(), "x": "eA=="}


def test_non_string_given_values_become_text():
    data = sec.plan(None, {"port": 5432, "none": None}, [], counter_tokens())[0]
    assert data == {"port": "5432", "none": ""}


def test_several_generated_keys_get_distinct_values():
    data, report = sec.plan(None, {}, [("a", 16), ("b", 40)], sec.token)
    assert data["a"] != data["b"]
    assert (len(data["a"]), len(data["b"])) == (16, 40)
    assert report["generated"] == ["a", "b"]


def test_token_length_and_alphabet():
    values = [sec.token(64) for dummy in range(20)]
    assert all(len(v) == 64 for v in values)
    assert set("".join(values)) <= set(sec.ALPHABET)
    assert len(set(values)) == 20
    assert len(sec.token()) == sec.DEFAULT_LENGTH


def test_token_refuses_short_values():
    with pytest.raises(ValueError, match="at least 16"):
        sec.token(15)


@pytest.mark.parametrize("entries, expected, errors", [
    ([{"key": "p", "length": None}], [("p", 32)], []),
    ([{"key": "p", "length": 16}], [("p", 16)], []),
    ([{"key": "p", "length": 15}], [("p", 15)], ["generate: length of p must be at least 16, got 15"]),
    ([{"key": "", "length": 32}], [], ["generate: every entry needs a key"]),
    ([{"key": "p", "length": 20}, {"key": "p", "length": 20}], [("p", 20), ("p", 20)],
     ["generate: key p is listed twice"]),
])
def test_normalize_generate(entries, expected, errors):
    assert sec.normalize_generate(entries) == (expected, errors)


def test_encode_decode_round_trip():
    data = {"a": "plain", "b": "ünïcode", "c": ""}
    encoded = sec.encode_data(data)
    assert encoded["a"] == base64.b64encode(b"plain").decode()
    assert sec.decode_data(encoded) == data
    assert sec.decode_data(None) == {}


def test_decode_tolerates_binary_values():
    decoded = sec.decode_data({"bin": base64.b64encode(b"\xff\xfe").decode()})
    assert isinstance(decoded["bin"], str)


def test_build_secret_and_patch():
    body = sec.build_secret("s", "ns", "Opaque", {"l": "1"}, {}, {"k": "v"})
    assert body == {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": "s", "namespace": "ns", "labels": {"l": "1"}},
                    "data": {"k": base64.b64encode(b"v").decode()}}
    assert sec.build_patch({}, {}) is None
    assert sec.build_patch({"k": "v"}, {"labels": {"l": "2"}}) == {
        "metadata": {"labels": {"l": "2"}}, "data": {"k": base64.b64encode(b"v").decode()}}


def test_metadata_changes_only_missing_or_different():
    meta = {"labels": {"a": "1", "b": "2", "theirs": "x"}, "annotations": {"n": "1"}}
    assert sec.metadata_changes(meta, {"a": "1", "b": "3", "c": "4"}, {"n": "1"}) == {"labels": {"b": "3", "c": "4"}}
    assert sec.metadata_changes(meta, {"a": "1"}, {}) == {}
    assert sec.metadata_changes(None, {}, {"n": "1"}) == {"annotations": {"n": "1"}}


def test_redacted_hides_every_value_and_keeps_keys():
    data, report = sec.plan(None, {"user": "sonataflow"}, PASSWORD, counter_tokens())
    body = sec.build_secret("s", "ns", "Opaque", {"l": "1"}, {}, data)
    body["stringData"] = {"extra": "plain-extra"}
    out = sec.redacted(body, report["changed_keys"])
    assert out["metadata"] == {"name": "s", "namespace": "ns", "labels": {"l": "1"}}
    assert out["data"] == {"extra": sec.PLACEHOLDER, "postgres-password": sec.CHANGED_PLACEHOLDER,
                           "user": sec.CHANGED_PLACEHOLDER}
    text = json.dumps(out)
    for value in list(data.values()) + list(body["data"].values()) + ["plain-extra"]:
        assert value not in text
    assert sec.redacted(None) == {}


def test_report_carries_no_value():
    data, report = sec.plan({"old": "stored-value"}, {"user": "sonataflow"}, PASSWORD, counter_tokens())
    public = {k: v for k, v in report.items() if k != "changes"}
    text = json.dumps(public)
    for value in data.values():
        assert value not in text
    assert public == {"generated": ["postgres-password"], "changed_keys": ["postgres-password", "user"],
                      "added": ["postgres-password", "user"], "updated": [], "removed": []}


def test_scrub_masks_values():
    assert sec.scrub("bad value abc and abc", ["abc", ""]) == "bad value ******** and ********"
