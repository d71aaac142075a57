"""Pure decisions of remove_objects."""

from ansible_collections.parodos.orchestrator.plugins.module_utils import removal

OURS = {"app.kubernetes.io/managed-by": "parodos.orchestrator", "app.kubernetes.io/part-of": "orchestrator"}


def obj(name, namespace="", labels=None, **extra):
    meta = {"name": name, "labels": labels if labels is not None else dict(OURS)}
    if namespace:
        meta["namespace"] = namespace
    return dict({"metadata": meta}, **extra)


def test_normalize_fills_defaults_and_reports_missing_fields():
    items, errors = removal.normalize([{"api_version": "v1", "kind": "Secret"}, {"kind": "X"}])
    assert items == [{"api_version": "v1", "kind": "Secret", "namespace": "", "name": "", "label_selector": "",
                      "owned": True, "exclude": [], "component": "Secret"}]
    assert errors == ["resources[1]: api_version must be set"]


def test_selector_includes_the_ownership_mark_unless_not_owned():
    item = removal.normalize([{"api_version": "v1", "kind": "Secret",
                               "label_selector": "app.kubernetes.io/component=rhdh"}])[0][0]
    assert removal.selector(item) == "app.kubernetes.io/managed-by=parodos.orchestrator,app.kubernetes.io/component=rhdh"
    item["owned"] = False
    assert removal.selector(item) == "app.kubernetes.io/component=rhdh"
    item["label_selector"] = ""
    assert removal.selector(item) == ""


def test_pick_keeps_foreign_and_excluded_objects():
    item = removal.normalize([{"api_version": "v1", "kind": "Namespace", "exclude": ["keep-me"]}])[0][0]
    ours, theirs, excluded = obj("a"), obj("b", labels={}), obj("keep-me")
    assert removal.pick(item, [ours, theirs, excluded, None]) == ([ours], [theirs])
    item["owned"] = False
    assert removal.pick(item, [ours, theirs]) == ([ours, theirs], [])


def test_stuck_text_names_finalizers_and_conditions():
    cr = obj("backstage", "rhdh")
    cr["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z", finalizers=["rhdh.redhat.com/finalizer"])
    cr["status"] = {"conditions": [{"type": "Deployed", "status": "True", "reason": "Deployed", "message": ""}]}
    assert removal.stuck_text(cr) == ("deleted at 2026-01-01T00:00:00Z, finalizers: rhdh.redhat.com/finalizer, "
                                      "conditions: Deployed=True (Deployed)")
    ns = obj("rhdh")
    ns["spec"] = {"finalizers": ["kubernetes"]}
    assert removal.stuck_text(ns) == "not marked for deletion, finalizers: kubernetes"
    assert removal.stuck_text(obj("x")) == "not marked for deletion, finalizers: none"


def test_timeout_message_has_one_line_per_object():
    cr = obj("backstage", "rhdh")
    message = removal.timeout_message(30, [("Developer Hub", "Backstage", cr)], 3)
    assert message.splitlines() == [
        "Timed out after 30s: 1 of 3 object(s) not removed:",
        "- Developer Hub: Backstage rhdh/backstage is still there (not marked for deletion, finalizers: none)"]
    assert removal.ref("Namespace", obj("rhdh")) == "Namespace rhdh"
