"""Pure helpers of backend_secret: key names, values, the decision, token and ArgoCD readers."""

import base64
import json

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import backend_secret as bs
from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.module_utils import secrets as sec
from tests.unit.fakes import Clock, FakeApi

NAMES = dict(bs.DEFAULT_KEYS)
OURS = dict(k8s.OWNERSHIP_LABELS)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def secret(data, labels=None, annotations=None, kind="Opaque"):
    labels = OURS if labels is None else labels
    meta = {"name": "backstage-backend-auth-secret", "namespace": "rhdh", "labels": dict(labels)}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Secret", "type": kind, "metadata": meta,
            "data": {k: b64(v) for k, v in data.items()}}


def values(**given):
    out = dict.fromkeys(bs.LOGICAL_KEYS, "")
    out.update(given)
    return out


def fixed_token(nbytes):
    return "generated-%d" % nbytes


def after(step):
    """The Secret as the decision leaves it (decoded)."""
    return step["data"]


def test_token_is_long_random_and_url_safe():
    values_ = {bs.token() for dummy in range(20)}
    assert len(values_) == 20
    for value in values_:
        assert len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) * 8 >= 256
        assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(base64.urlsafe_b64decode(bs.token(32) + "=")) == 32
    with pytest.raises(ValueError, match="at least 32"):
        bs.token(31)


def test_key_names_merge_over_defaults():
    names, errors = bs.key_names({"github_token": "GH_TOKEN"})
    assert errors == []
    assert names == dict(bs.DEFAULT_KEYS, github_token="GH_TOKEN")
    assert bs.key_names(None) == (bs.DEFAULT_KEYS, [])


@pytest.mark.parametrize("option, message", [
    ({"nope": "X"}, "keys: unknown logical key nope"),
    ({"github_token": "BACKEND_SECRET"}, "keys: backend_secret and github_token both use the key name BACKEND_SECRET"),
    ({"github_token": "bad name"}, "keys: github_token must be a Secret key name"),
    ({"github_token": ""}, "keys: github_token must be a Secret key name"),
])
def test_key_names_errors(option, message):
    errors = bs.key_names(option)[1]
    assert any(e.startswith(message) for e in errors), errors


def test_first_run_generates_and_marks():
    step = bs.decide(None, values(), NAMES, {"team": "a"}, token_fn=fixed_token)
    assert after(step) == {"BACKEND_SECRET": "generated-48"}
    assert step["report"]["generated"] == ["BACKEND_SECRET"]
    assert step["report"]["added"] == ["BACKEND_SECRET"]
    assert step["labels"] == dict(OURS, team="a")
    assert json.loads(step["annotations"][bs.KEYS_ANNOTATION]) == {"backend_secret": "BACKEND_SECRET"}
    assert step["write"] is True and not step["adopted"] and not step["reused"]


def test_first_run_with_the_real_generator_has_at_least_256_bits():
    step = bs.decide(None, values(), NAMES)
    value = after(step)["BACKEND_SECRET"]
    assert len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) == 48


def test_second_run_keeps_the_stored_value():
    first = bs.decide(None, values(), NAMES)
    stored = secret(after(first), annotations=first["annotations"])
    second = bs.decide(stored, values(), NAMES)
    assert after(second) == after(first)
    assert second["report"]["changes"] == {}
    assert sec.metadata_changes(stored["metadata"], second["labels"], second["annotations"]) == {}


def test_caller_value_wins():
    stored = secret({"BACKEND_SECRET": "stored-value"})
    step = bs.decide(stored, values(backend_secret="chosen-value"), NAMES, token_fn=fixed_token)
    assert after(step) == {"BACKEND_SECRET": "chosen-value"}
    assert step["report"]["updated"] == ["BACKEND_SECRET"] and step["report"]["generated"] == []


def full_values():
    return values(backend_secret="b" * 40, cluster_url="https://api.example:6443", cluster_token="sa-token",
                  github_token="gh-token", github_client_id="gh-id", github_client_secret="gh-secret",
                  argocd_url="https://argocd.apps", argocd_username="admin", argocd_password="argo-pass",
                  email_hostname="smtp.example", email_username="mailer", email_password="mail-pass")


def test_keys_appear_with_their_inputs():
    step = bs.decide(None, full_values(), NAMES)
    assert sorted(after(step)) == sorted(bs.DEFAULT_KEYS.values())
    assert step["report"]["added"] == sorted(bs.DEFAULT_KEYS.values())


def stored_full():
    first = bs.decide(None, full_values(), NAMES)
    return first, secret(after(first), annotations=first["annotations"])


def test_keys_without_a_value_keep_what_the_secret_holds():
    # a later run without the vault: no GitHub, token, ArgoCD or email values
    first, stored = stored_full()
    step = bs.decide(stored, values(), NAMES)
    assert after(step) == after(first)
    assert step["report"]["changes"] == {} and step["report"]["removed"] == []
    assert step["annotations"] == first["annotations"]
    assert sec.metadata_changes(stored["metadata"], step["labels"], step["annotations"]) == {}


@pytest.mark.parametrize("remove, gone", [
    (["github_token"], ["GITHUB_TOKEN"]),
    (["github_token", "github_client_id", "github_client_secret"],
     ["GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "GITHUB_TOKEN"]),
    (["argocd_url", "argocd_username", "argocd_password", "cluster_url", "cluster_token"],
     ["ARGOCD_PASSWORD", "ARGOCD_URL", "ARGOCD_USERNAME", "K8S_CLUSTER_TOKEN", "K8S_CLUSTER_URL"]),
    (["email_password"], ["NOTIFICATIONS_EMAIL_PASSWORD"]),
])
def test_remove_takes_out_the_keys_named(remove, gone):
    first, stored = stored_full()
    step = bs.decide(stored, values(), NAMES, remove=remove)
    assert step["report"]["removed"] == gone
    assert step["report"]["changes"] == dict.fromkeys(gone)
    assert sorted(after(step)) == sorted(set(after(first)) - set(gone))
    recorded = json.loads(step["annotations"][bs.KEYS_ANNOTATION])
    assert sorted(recorded) == sorted(set(bs.LOGICAL_KEYS) - set(remove))


def test_remove_of_a_key_that_is_not_there_changes_nothing():
    stored = secret({"BACKEND_SECRET": "kept-value"})
    step = bs.decide(stored, values(), NAMES, remove=["github_token", "email_password"])
    assert step["report"]["changes"] == {} and after(step) == {"BACKEND_SECRET": "kept-value"}


def test_remove_finds_a_key_under_the_name_an_earlier_run_recorded():
    first = bs.decide(None, values(github_token="gh-token"), dict(NAMES, github_token="GH_TOKEN"))
    stored = secret(after(first), annotations=first["annotations"])
    step = bs.decide(stored, values(), NAMES, remove=["github_token"])
    assert step["report"]["removed"] == ["GH_TOKEN"] and "GITHUB_TOKEN" not in after(step)


def test_a_key_of_the_user_with_the_name_of_a_removed_key_elsewhere_is_kept():
    # cluster_url was recorded as MY_URL, which is now the name of github_token: removing cluster_url keeps it
    stored = secret({"BACKEND_SECRET": "b" * 40, "MY_URL": "u"},
                    annotations={bs.KEYS_ANNOTATION: json.dumps({"cluster_url": "MY_URL"})})
    step = bs.decide(stored, values(github_token="t"), dict(NAMES, github_token="MY_URL"), remove=["cluster_url"])
    assert after(step)["MY_URL"] == "t" and step["report"]["removed"] == []


@pytest.mark.parametrize("remove, vals, message", [
    (["nope"], {}, "remove_keys: unknown logical key nope (known: cluster_url, "),
    (["backend_secret"], {}, "remove_keys: backend_secret cannot be removed"),
    (["github_token"], {"github_token": "t"}, "remove_keys: github_token also gets a value in this run"),
    (["cluster_token"], {"cluster_token": bs.PENDING}, "remove_keys: cluster_token also gets a value"),
])
def test_remove_errors(remove, vals, message):
    [error] = bs.removal_errors(remove, values(**vals))
    assert error.startswith(message)
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        bs.decide(None, values(**vals), NAMES, remove=remove)


def test_removable_keys_are_every_logical_key_but_the_backend_secret():
    assert set(bs.REMOVABLE_KEYS) == set(bs.LOGICAL_KEYS) - {"backend_secret"}
    assert bs.removal_errors(list(bs.REMOVABLE_KEYS)) == []


def test_backend_secret_is_never_removed():
    stored = secret({"BACKEND_SECRET": "kept-value"})
    step = bs.decide(stored, values(), NAMES, token_fn=fixed_token)
    assert after(step) == {"BACKEND_SECRET": "kept-value"}
    assert step["report"]["changes"] == {}


def test_keys_that_are_not_managed_are_kept():
    stored = secret({"BACKEND_SECRET": "kept-value", "MY_OWN": "mine"})
    step = bs.decide(stored, values(github_token="t"), NAMES)
    assert after(step) == {"BACKEND_SECRET": "kept-value", "MY_OWN": "mine", "GITHUB_TOKEN": "t"}
    assert step["report"]["removed"] == []


def test_key_rename_moves_the_values():
    first = bs.decide(None, values(github_token="gh-token"), NAMES)
    stored = secret(after(first), annotations=first["annotations"])
    names = dict(NAMES, github_token="GH_TOKEN", backend_secret="BACKEND_AUTH")
    step = bs.decide(stored, values(github_token="gh-token"), names, token_fn=fixed_token)
    assert after(step) == {"BACKEND_AUTH": after(first)["BACKEND_SECRET"], "GH_TOKEN": "gh-token"}
    assert step["report"]["added"] == ["BACKEND_AUTH", "GH_TOKEN"]
    assert step["report"]["removed"] == ["BACKEND_SECRET", "GITHUB_TOKEN"]
    assert step["report"]["generated"] == []


def test_key_rename_without_a_value_moves_the_stored_value():
    first = bs.decide(None, values(github_token="gh-token"), NAMES)
    stored = secret(after(first), annotations=first["annotations"])
    step = bs.decide(stored, values(), dict(NAMES, github_token="GH_TOKEN"))
    assert after(step) == {"BACKEND_SECRET": after(first)["BACKEND_SECRET"], "GH_TOKEN": "gh-token"}
    assert step["report"]["added"] == ["GH_TOKEN"] and step["report"]["removed"] == ["GITHUB_TOKEN"]
    assert json.loads(step["annotations"][bs.KEYS_ANNOTATION])["github_token"] == "GH_TOKEN"


def test_unrecorded_old_name_is_kept_after_a_rename():
    stored = secret({"BACKEND_SECRET": "x" * 40, "OLD_GH": "t"})
    step = bs.decide(stored, values(github_token="t"), dict(NAMES, github_token="GH_TOKEN"))
    assert after(step)["OLD_GH"] == "t" and after(step)["GH_TOKEN"] == "t"


def test_foreign_secret_is_reused_and_left_alone():
    stored = secret({"BACKEND_SECRET": "theirs", "GITHUB_TOKEN": "old", "K8S_CLUSTER_URL": "u"}, labels={})
    step = bs.decide(stored, values(github_token="new"), NAMES)
    assert step["write"] is False and step["reused"] is True and step["adopted"] is False
    assert after(step) == {"BACKEND_SECRET": "theirs", "GITHUB_TOKEN": "old", "K8S_CLUSTER_URL": "u"}
    assert step["report"]["changed_keys"] == [] and step["report"]["generated"] == []
    assert step["differs"] == ["GITHUB_TOKEN"]
    assert bs.decide(stored, values(github_token="new"), NAMES, remove=["cluster_url"])["differs"] == [
        "GITHUB_TOKEN", "K8S_CLUSTER_URL"]
    text = bs.foreign_warning("rhdh", "s", ["GITHUB_TOKEN", "K8S_CLUSTER_URL"])
    assert "GITHUB_TOKEN, K8S_CLUSTER_URL" in text and "theirs" not in text and "new" not in text


def test_secret_with_only_the_managed_by_label_is_ours():
    # the mark cleanup and every other module go by: such a Secret is updated, never reused
    stored = secret({"BACKEND_SECRET": "kept-value"}, labels={k8s.MANAGED_BY: "parodos.orchestrator"})
    step = bs.decide(stored, values(github_token="new-token"), NAMES)
    assert step["reused"] is False and step["write"] is True and step["adopted"] is False
    assert after(step) == {"BACKEND_SECRET": "kept-value", "GITHUB_TOKEN": "new-token"}
    assert step["report"]["added"] == ["GITHUB_TOKEN"]
    assert sec.metadata_changes(stored["metadata"], step["labels"], step["annotations"])["labels"] == {
        "app.kubernetes.io/part-of": "orchestrator"}


@pytest.mark.parametrize("labels", [{}, {"app.kubernetes.io/part-of": "orchestrator"},
                                    {k8s.MANAGED_BY: "helm", "app.kubernetes.io/part-of": "orchestrator"}])
def test_secret_without_our_managed_by_label_is_foreign(labels):
    stored = secret({"BACKEND_SECRET": "theirs"}, labels=labels)
    assert bs.decide(stored, values(github_token="t"), NAMES)["reused"] is True


def test_foreign_secret_is_adopted_when_asked():
    stored = secret({"BACKEND_SECRET": "theirs", "GITHUB_TOKEN": "old", "MINE": "m"}, labels={"x": "y"},
                    annotations={bs.KEYS_ANNOTATION: json.dumps({"mine": "MINE"})})
    step = bs.decide(stored, values(github_token="new"), NAMES, adopt=True)
    assert step["write"] is True and step["adopted"] is True and step["reused"] is False
    assert after(step) == {"BACKEND_SECRET": "theirs", "GITHUB_TOKEN": "new", "MINE": "m"}
    assert sec.metadata_changes(stored["metadata"], step["labels"], step["annotations"])["labels"] == OURS


def test_pending_token_keeps_a_stored_token_and_reports_a_new_one():
    stored = secret({"BACKEND_SECRET": "k" * 40, "K8S_CLUSTER_TOKEN": "stored-token", "K8S_CLUSTER_URL": "u"})
    vals = values(cluster_token=bs.PENDING, cluster_url="u")
    step = bs.decide(stored, vals, NAMES)
    assert after(step)["K8S_CLUSTER_TOKEN"] == "stored-token"
    assert step["report"]["changes"] == {}
    step = bs.decide(None, vals, NAMES)
    assert step["report"]["added"] == ["BACKEND_SECRET", "K8S_CLUSTER_TOKEN", "K8S_CLUSTER_URL"]


def test_wanted_values_follow_the_inputs():
    params = {"backend_secret": "", "github_token": "t", "github_client_id": "", "github_client_secret": "",
              "argocd": {"enabled": True, "username": "admin"},
              "email": {"enabled": False, "hostname": "smtp", "username": "u", "password": "p"}}
    vals = bs.wanted_values(params, "https://api:6443", "", ("https://argo", "pw"))
    assert vals["cluster_url"] == "" and vals["cluster_token"] == ""
    assert (vals["argocd_url"], vals["argocd_username"], vals["argocd_password"]) == ("https://argo", "admin", "pw")
    assert vals["email_hostname"] == ""
    params["email"]["enabled"] = True
    vals = bs.wanted_values(params, "https://api:6443", "tok", None)
    assert (vals["cluster_url"], vals["cluster_token"]) == ("https://api:6443", "tok")
    assert vals["argocd_url"] == vals["argocd_password"] == ""
    assert (vals["email_hostname"], vals["email_username"], vals["email_password"]) == ("smtp", "u", "p")


def test_nothing_secret_in_report_or_step_metadata():
    vals = full_values()
    stored = secret({"BACKEND_SECRET": "old-backend-secret", "GITHUB_TOKEN": "old-gh-token"})
    step = bs.decide(stored, vals, NAMES)
    public = {k: v for k, v in step["report"].items() if k != "changes"}
    text = json.dumps([public, step["labels"], step["annotations"], step["differs"],
                       sec.redacted(k8s.apply_merge_patch(stored, sec.build_patch(step["report"]["changes"], {})))])
    for value in [v for v in vals.values() if v] + ["old-backend-secret", "old-gh-token"]:
        assert value not in text and b64(value) not in text


# ------------------------------------------------------------------ readers


def in_turn(api, path, *bodies):
    """Each GET of ``path`` finds the next of ``bodies`` stored there (None: nothing); the last one stays."""
    queue = list(bodies)

    def next_body(api):
        body = queue.pop(0) if len(queue) > 1 else queue[0]
        if body is None:
            api.objects.pop(path, None)
        else:
            api.objects[path] = body

    api.on_request(next_body, method="GET", path=path)
    return api


TOKEN_PATH = "/api/v1/namespaces/orchestrator/secrets/orchestrator-token"


def token_secret(value=None, kind=bs.TOKEN_TYPE):
    data = {"token": b64(value)} if value else {}
    return {"type": kind, "metadata": {"name": "orchestrator-token"}, "data": data}


def test_read_token_waits_until_it_is_filled():
    api = in_turn(FakeApi(), TOKEN_PATH, None, token_secret(), token_secret("the-token"))
    clock = Clock()
    value = bs.read_token(api, "orchestrator", "orchestrator-token", 60, sleep=clock.sleep, clock=clock)
    assert value == "the-token"
    assert clock.slept == [1.0, 1.0]
    assert api.calls() == [("GET", TOKEN_PATH)] * 3


def test_read_token_times_out_naming_the_secret_and_what_is_missing():
    clock = Clock()
    with pytest.raises(bs.TokenError) as exc:
        bs.read_token(FakeApi({TOKEN_PATH: token_secret()}), "orchestrator", "orchestrator-token", 3,
                      sleep=clock.sleep, clock=clock)
    assert str(exc.value).startswith("Secret orchestrator/orchestrator-token: it has no data.token yet")
    assert str(exc.value).endswith("after 3 s")
    assert clock.now == 3
    with pytest.raises(bs.TokenError, match="orchestrator-token: it does not exist after 0 s"):
        bs.read_token(FakeApi(), "orchestrator", "orchestrator-token", 0, sleep=clock.sleep, clock=clock)


def test_read_token_refuses_another_type_at_once():
    clock = Clock()
    with pytest.raises(bs.TokenError, match="has type Opaque, not kubernetes.io/service-account-token"):
        bs.read_token(FakeApi({TOKEN_PATH: token_secret("x", kind="Opaque")}), "orchestrator",
                      "orchestrator-token", 60, sleep=clock.sleep, clock=clock)
    assert clock.slept == []


def test_read_token_in_check_mode_does_not_wait():
    clock = Clock()
    value = bs.read_token(FakeApi(), "orchestrator", "orchestrator-token", 60, check_mode=True,
                          sleep=clock.sleep, clock=clock)
    assert value is bs.PENDING and clock.slept == []


ROUTES = "/apis/route.openshift.io/v1/namespaces/orchestrator-gitops/routes"
ARGO_SECRET = "/api/v1/namespaces/orchestrator-gitops/secrets/argocd-cluster"


def route(name, host, labels=None):
    labels = {"app.kubernetes.io/managed-by": "argocd"} if labels is None else labels
    return {"metadata": {"name": name, "labels": labels}, "spec": {"host": host}}


def argocd_cluster(routes, objects=None):
    """A FakeApi with ``objects`` and the Routes of orchestrator-gitops: None when Routes are not served,
    an ApiError when reading them fails."""
    api = FakeApi(objects, served=() if routes is None else (ROUTES,))
    if isinstance(routes, k8s.ApiError):
        api.fail(routes, path=ROUTES)
    else:
        api.objects.update({ROUTES + "/" + r["metadata"]["name"]: r for r in routes or []})
    return api


def test_find_argocd():
    api = argocd_cluster([route("argocd-grafana", "g.apps"), route("argocd-server", "argo.apps"),
                          route("argocd-server-unmanaged", "other.apps", labels={})],
                         {ARGO_SECRET: {"data": {"admin.password": b64("argo-pass")}}})
    assert bs.find_argocd(api, "orchestrator-gitops", "argocd") == (("https://argo.apps", "argo-pass"), "")
    assert api.calls("path", "query")[0] == (ROUTES, {"labelSelector": "app.kubernetes.io/managed-by=argocd"})


@pytest.mark.parametrize("routes, why", [
    (None, "no Route labelled app.kubernetes.io/managed-by=argocd with a host in namespace orchestrator-gitops"),
    ([], "no Route labelled"),
    ([route("argocd-server", "argo.apps", labels={})], "no Route labelled"),
    ([route("argocd-server", "argo.apps")],
     "Secret orchestrator-gitops/argocd-cluster has no key admin.password"),
    (k8s.ApiError("forbidden", 403), "its Routes could not be read: forbidden"),
])
def test_argocd_not_found(routes, why):
    found, reason = bs.find_argocd(argocd_cluster(routes), "orchestrator-gitops", "argocd")
    assert found is None and reason.startswith(why)
    assert "not found" in bs.argocd_warning("orchestrator-gitops", "argocd", reason)


def test_pick_route_prefers_the_server_route():
    assert bs.pick_route([route("b", "b.apps"), route("a", "a.apps")], "argocd")["metadata"]["name"] == "a"
    assert bs.pick_route([route("argocd-server", "")], "argocd") is None
