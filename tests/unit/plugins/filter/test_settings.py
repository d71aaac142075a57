"""The setting checks of the roles' validate phases (plugins/filter/settings.py)."""

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from ansible_collections.parodos.orchestrator.plugins.filter import settings as s

REPO_ROOT = Path(__file__).resolve().parents[4]
RHDH_DEFAULT_PLUGINS = yaml.safe_load((REPO_ROOT / "roles" / "rhdh" / "vars" / "main.yml").read_text())[
    "__rhdh_default_plugins"]
SHA512 = "sha512-A/twx1SOOGDQjglLzOxQikKO0XOdPP1jh2lj9Y/92bLox8mT+eaZpub8YLwR2mb7LsUIUImg+U6VnKwoAV9ATA=="


@pytest.mark.parametrize("value", [
    "registry.redhat.io/rhel9/postgresql-15:latest", "postgres", "library/postgres:15", "localhost/app",
    "localhost:5000/team/app:v1.2_3", "quay.io/a/b@sha256:" + "a" * 64, "quay.io/a/b:1@sha512:" + "0" * 128,
    "[::1]:5000/app", "Registry.Example.com/app", "a__b/c-d.e", "gcr.io/x/y-z--w"])
def test_image_references_accepted(value):
    assert s.image_problem(value) == ""


@pytest.mark.parametrize("value, reason", [
    ("", "empty"), ("quay.io/Team/App:1", "lower-case"), ("https://quay.io/a/b", "scheme"),
    ("quay.io/a/b:", "tag"), ("quay.io/a/b:-x", "tag"), ("quay.io/a/b@sha256:abc", "digest"),
    ("quay.io/a/b@sha256:" + "a" * 63 + "x", "digest"), ("quay.io/a/b@sha256:" + "a" * 128, "64 hex digits"),
    ("quay.io/a b", "white space"), ("quay.io/a/-b", "path component"), ("quay.io//b", "path component"),
    ("bad_host.io:x/app", "registry"), ("reg:99999999999x/app", "registry"), (":tag", "repository"),
    (5, "not a string"), ("quay.io/a/b:" + "t" * 129, "tag")])
def test_bad_image_references(value, reason):
    assert reason in s.image_problem(value)


def test_integrity():
    assert s.integrity_problem(SHA512) == ""
    assert s.integrity_problem("sha256-" + "A" * 43 + "=") == ""
    assert s.integrity_problem("sha384-" + "A" * 64) == ""
    assert "only sha256, sha384 and sha512" in s.integrity_problem("md5-1B2M2Y8AsgTpgAmY7PhCfg==")
    assert "sha1 is not accepted" in s.integrity_problem("sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=")
    assert "start with sha256-" in s.integrity_problem("A/twx1SOOGDQjglLzOxQikKO0XOdPP1jh2lj9Y")
    assert "not base64" in s.integrity_problem("sha512-not base64!")
    assert "64 bytes (88 base64 characters), this one is 32" in s.integrity_problem("sha512-" + "A" * 43 + "=")
    assert "empty" in s.integrity_problem("")
    assert "not a string" in s.integrity_problem(None)


@pytest.mark.parametrize("value", ["orchestrator@example.com", "first.last+tag@mail.example.co.uk",
                                   "Orchestrator <orchestrator@example.com>", "<a@example.com>", "a@[10.0.0.1]"])
def test_email_accepted(value):
    assert s.email_problem(value) == ""


@pytest.mark.parametrize("value, reason", [
    ("orchestrator", "exactly one @"), ("a@b@example.com", "exactly one @"), ("@example.com", "before @"),
    ("a@localhost", "after @"), ("a@example", "after @"), ("a@example.123", "after @"), ("a b@example.com", "white"),
    ("a..b@example.com", "before @"), ("Name <a@>", "after @"), ("a@[999.1.1.1]", "not an IP"), (3, "string")])
def test_bad_email(value, reason):
    assert reason in s.email_problem(value)


def test_url_and_host():
    assert s.url_problem("https://npm.registry.redhat.com") == ""
    assert s.url_problem("http://sonataflow-platform-data-index-service.sonataflow-infra") == ""
    assert s.url_problem("https://[::1]:8443/x") == ""
    assert "start with http://" in s.url_problem("ftp://example.com")
    assert "start with http://" in s.url_problem("npm.registry.redhat.com")
    assert "no host" in s.url_problem("https:///path")
    assert "white space" in s.url_problem("https://a b")
    assert "cannot be parsed" in s.url_problem("https://example.com:99999")
    assert "its host" in s.url_problem("https://exa_mple.com/")
    assert s.host_problem("smtp.example.com") == s.host_problem("10.0.0.1") == s.host_problem("::1") == ""
    assert "port" in s.host_problem("smtp.example.com:587")
    assert "scheme" in s.host_problem("smtp://smtp.example.com")
    assert "path" in s.host_problem("example.com/x")
    assert "DNS label" in s.host_problem("bad_host.example.com")
    assert "neither" in s.host_problem("300.1.1.1")
    assert s.postgresql_host_problem("/var/run/postgresql") == ""
    assert "port" in s.postgresql_host_problem("db:5432")


def test_quantities_and_resources():
    assert s.parse_quantity("250m") == Decimal("0.25")
    assert s.parse_quantity("1Gi") == Decimal(1024 ** 3)
    assert s.parse_quantity("1e3") == Decimal(1000)
    assert s.parse_quantity(2) == Decimal(2)
    assert s.parse_quantity(0.5) == Decimal("0.5")
    for bad in ("1GB", "one", "", " 1Gi", True, None, [1]):
        assert s.parse_quantity(bad) is None
    assert s.quantity_problem("0", positive=True) == "it must be above zero"
    assert s.quantity_problem("-1") == "it is negative"
    assert s.storage_problem("1Gi") == s.storage_problem("10G") == ""
    assert s.storage_problem("500m") == "it is 0.5 bytes, a volume needs at least 1Mi (did you mean 500Mi?)"
    assert s.storage_problem("1024") == "it is 1024 bytes, a volume needs at least 1Mi"
    assert "above zero" in s.storage_problem("0Gi")
    assert "not a Kubernetes quantity" in s.storage_problem("1gb")
    good = {"requests": {"cpu": "250m", "memory": "64Mi"},
            "limits": {"cpu": 1, "memory": "1Gi", "nvidia.com/gpu": 1}}
    assert s.resources_problems(good) == []
    assert s.resources_problems({"requests": None}) == []
    problems = s.resources_problems({"request": {}, "limits": {"memroy": "1Gi", "cpu": "lots"}})
    assert problems[0] == "it has request; allowed keys are requests, limits"
    assert "memroy is not a container resource" in problems[1] and "did you mean memory?" in problems[1]
    assert problems[2].startswith("limits.cpu (lots): it is not a Kubernetes quantity")
    assert s.resources_problems({"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}) == [
        "requests.memory (2Gi) is above limits.memory (1Gi)"]
    assert s.resources_problems({"requests": "cpu=1"}) == [
        "requests is a string, not a mapping of resource to quantity"]
    assert s.resources_problems([]) == ["it is a list, not a mapping with requests and/or limits"]
    assert s.resources_problems({"claims": [{"name": "gpu"}]}, ("requests", "limits", "claims")) == []
    assert s.resources_problems({"claims": "gpu"}, ("requests", "limits", "claims")) == [
        "claims must be a list of {name: <claim>}"]


def test_numbers():
    assert s.seconds_problem(600) == s.seconds_problem("600") == ""
    assert "whole number" in s.seconds_problem("10m")
    assert "whole number" in s.seconds_problem(True)
    assert "at least 1" in s.seconds_problem(-5)
    assert "at least 1" in s.seconds_problem(0)
    assert "milliseconds" in s.seconds_problem(600000)
    assert s.port_problem(5432) == ""
    assert "70000 is out of range" in s.port_problem(70000)
    assert "not a port" in s.port_problem("http")


def test_names_and_refs():
    assert s.namespace_problem("knative-serving") == ""
    assert "63" in s.namespace_problem("a" * 64)
    assert "lower-case" in s.namespace_problem("My_NS")
    assert s.service_name_problem("db-1") == ""
    assert "start with a lower-case letter" in s.service_name_problem("1db")
    assert "lower-case" in s.service_name_problem("db.x")
    assert s.secret_key_problem("postgres-password") == s.secret_key_problem("K8S_CLUSTER_URL") == ""
    assert "only letters" in s.secret_key_problem("a key")
    assert "only letters" in s.secret_key_problem("..")
    assert s.plural_problem("namespaces") == s.plural_problem("pods/exec") == s.plural_problem("*") == ""
    assert "lower-case" in s.plural_problem("Namespace")
    assert s.name_problem("a.b-c") == ""
    assert "lower-case" in s.name_problem("a_b")
    assert s.git_ref_problem("v1.3.x") == s.git_ref_problem("release/1.3") == ""
    for bad in ("has space", "a..b", "a:b", "/a", "a/", "a.lock", "a#b", "", ".hidden"):
        assert s.git_ref_problem(bad), bad
    assert s.npm_package_problem("backstage-plugin-orchestrator@1.3.0") == ""
    assert s.npm_package_problem("x@1.3.0-rc.1+build.5") == ""
    assert "scope" in s.npm_package_problem("@redhat/backstage-plugin-orchestrator@1.3.0")
    assert "no @version" in s.npm_package_problem("backstage-plugin-orchestrator")
    assert "exact version" in s.npm_package_problem("backstage-plugin-orchestrator@^1.3.0")
    assert "exact version" in s.npm_package_problem("backstage-plugin-orchestrator@latest")
    assert "package name" in s.npm_package_problem("Backstage@1.0.0")


def test_plugin_overrides():
    assert sorted(RHDH_DEFAULT_PLUGINS) == sorted([
        "orchestrator", "orchestrator_backend", "notifications", "notifications_backend", "signals",
        "signals_backend", "notifications_email"])
    assert s.plugin_problems({}, RHDH_DEFAULT_PLUGINS) == []
    assert s.plugin_problems(RHDH_DEFAULT_PLUGINS, RHDH_DEFAULT_PLUGINS) == []
    assert s.plugin_problems({"orchestrator": {"package": "backstage-plugin-orchestrator@1.3.1",
                                               "integrity": SHA512}}, RHDH_DEFAULT_PLUGINS) == []
    # The default package with a new hash, or only the hash.
    assert s.plugin_problems({"signals": {"integrity": SHA512}}, RHDH_DEFAULT_PLUGINS) == []
    problems = s.plugin_problems({
        "orchestrater": {}, "signals": "plugin-signals-dynamic@1.3.0",
        "notifications": {"package": "plugin-notifications-dynamic@1.4.0"},
        "orchestrator": {"package": "@redhat/backstage-plugin-orchestrator@1.3.0", "integrity": "md5-abc=",
                         "version": "1"}}, RHDH_DEFAULT_PLUGINS)
    assert problems[0].startswith("rhdh_plugins.orchestrater is not a plugin of the collection (did you mean "
                                  "orchestrator?)")
    assert problems[1].startswith("rhdh_plugins.signals must be a mapping with package and/or integrity; it is a "
                                  "string")
    assert problems[2].startswith("rhdh_plugins.notifications.package is plugin-notifications-dynamic@1.4.0 but no "
                                  "integrity is given")
    assert problems[3] == "rhdh_plugins.orchestrator has unknown key(s) version; the keys are package and integrity."
    assert problems[4].startswith("rhdh_plugins.orchestrator.package (@redhat/backstage-plugin-orchestrator@1.3.0) "
                                  "must be name@version without the scope")
    assert "md5 is not accepted" in problems[5] and problems[5].endswith(".")
    assert len(problems) == 6
    assert s.plugin_problems(["orchestrator"], RHDH_DEFAULT_PLUGINS) == [
        'rhdh_plugins must be a mapping of plugin to {package: name@version, integrity: sha512-...}; it is a list '
        '(["orchestrator"])']


def test_setting_problems_messages():
    assert s.setting_problems({"serverless_logic_data_index_image": ""}, "image", empty=True) == []
    assert s.setting_problems({"serverless_logic_data_index_image": "Quay.io/A"}, "image") == [
        "serverless_logic_data_index_image (Quay.io/A) must be an image reference such as "
        "registry.example.com/team/name:tag or name@sha256:<64 hex digits>: the repository path (A) must be "
        "lower-case."]
    assert s.setting_problems({"rhdh_email_sender": "x"}, "email", empty=True)[0].startswith(
        "rhdh_email_sender (x) must be empty or an e-mail address")
    secret = s.setting_problems({"rhdh_github_token": "a b"}, "url", secret=True)[0]
    assert "a b" not in secret and secret.startswith("rhdh_github_token must be")
    assert s.resource_problems({"limits": {"cpu": "x"}}, "postgresql_resources")[0].startswith(
        "postgresql_resources must be container resources")
    assert s.resource_problems({"limits": {"memroy": "1"}}, "postgresql_resources")[0].endswith(
        "did you mean memory?")


def test_long_values_are_cut():
    message = s.setting_problems({"postgresql_image": "x" * 500 + "A"}, "image")[0]
    assert len(message) < 400 and "..." in message


@pytest.fixture
def roles_dir(tmp_path):
    for role, options, defaults in (
            ("serverless", {"serverless_channel": {}, "serverless_package": {}}, {"serverless_channel": "stable"}),
            ("serverless_logic", {"serverless_logic_channel": {}}, {}),
            ("common", {"orchestrator_workflow_namespace": {}}, {"orchestrator_components": []})):
        (tmp_path / role / "tasks").mkdir(parents=True)
        (tmp_path / role / "meta").mkdir()
        (tmp_path / role / "defaults").mkdir()
        (tmp_path / role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(
            {"argument_specs": {"main": {"options": options}, "validate": {"options": options}}}))
        (tmp_path / role / "defaults" / "main.yml").write_text(yaml.safe_dump(defaults))
    (tmp_path / "README.md").write_text("not a role")
    return str(tmp_path)


def test_unknown_settings(roles_dir):
    names = ["serverless_chanel", "serverless_channel", "serverless_logic_chanel", "orchestrator_workflow_namspace",
             "orchestrator_components", "orchestrator_cluster_domain", "orchestrator_kubeconfig", "rhdh_whatever",
             "__serverless_poll_delay", "serverless_zzz_qqq"]
    assert s.unknown_settings(names, "serverless", roles_dir=roles_dir) == [
        "orchestrator_workflow_namspace is set but no role of the collection has such a setting, so it would be "
        "ignored; did you mean orchestrator_workflow_namespace?",
        "serverless_chanel is set but no role of the collection has such a setting, so it would be ignored; did you "
        "mean serverless_channel?",
        "serverless_zzz_qqq is set but no role of the collection has such a setting, so it would be ignored."]
    # serverless_logic_ names belong to serverless_logic, not to serverless.
    logic = s.unknown_settings(names, "serverless_logic", roles_dir=roles_dir)
    assert [m.split()[0] for m in logic] == ["orchestrator_workflow_namspace", "serverless_logic_chanel"]
    assert "did you mean serverless_logic_channel?" in logic[1]
    assert s.unknown_settings(["rhdh_whatever"], "serverless", roles_dir=roles_dir) == []


def test_unknown_settings_leaves_out_what_belongs_to_something_else(roles_dir):
    """Another role of the inventory may share a prefix: orchestrator_other_settings names its variables."""
    names = ["serverless_users", "serverless_databases", "serverless_chanel", "orchestrator_workflow_namspace"]
    messages = s.unknown_settings(names, "serverless", ["serverless_users", "serverless_data*"], roles_dir=roles_dir)
    assert [m.split()[0] for m in messages] == ["orchestrator_workflow_namspace", "serverless_chanel"]
    assert s.unknown_settings(names, "serverless", ["*"], roles_dir=roles_dir) == []


def test_owner():
    roles = ("serverless", "serverless_logic", "rhdh")
    assert s.owner("serverless_logic_channel", roles) == "serverless_logic"
    assert s.owner("serverless_channel", roles) == "serverless"
    assert s.owner("orchestrator_x", roles) == "orchestrator"
    assert s.owner("other_x", roles) is None


def test_the_collection_declares_what_its_roles_read():
    """Every name of the collection's own settings, and every fact its tasks publish, is known."""
    roles, known = s.collection_settings()
    assert {"serverless", "serverless_logic", "postgresql", "rhdh", "prerequisites", "cleanup"} <= set(roles)
    assert {"serverless_channel", "rhdh_plugins", "cleanup_components", "orchestrator_workflow_namespace"} <= known
    published = set()
    for path in (REPO_ROOT / "roles").glob("*/tasks/*.yml"):
        for task in yaml.safe_load(path.read_text()) or []:
            for inner in [task] + list(task.get("block") or []) + list(task.get("rescue") or []):
                facts = inner.get("ansible.builtin.set_fact") or {}
                published |= {n for n in facts if isinstance(n, str) and not n.startswith("__")}
    assert published, "no fact is published: the scan of the tasks is broken"
    assert published - known == set()
    assert s.unknown_settings(sorted(known), "serverless") == []


def test_key_names():
    defaults = {"github_token": "GITHUB_TOKEN", "cluster_url": "K8S_CLUSTER_URL"}
    assert s.key_names_problems({}, defaults, "rhdh_secret_keys") == []
    assert s.key_names_problems({"github_token": "GH_TOKEN"}, defaults, "rhdh_secret_keys") == []
    assert s.key_names_problems({"github_tokn": "X", "cluster_url": "GITHUB_TOKEN", "github_token": "a b"}, defaults,
                                "rhdh_secret_keys") == [
        "rhdh_secret_keys has unknown logical keys: github_tokn (did you mean github_token?); the logical keys are "
        "github_token, cluster_url.",
        "rhdh_secret_keys.github_token (a b) must be a key of a Secret: only letters, digits, -, _ and . are allowed.",
    ]
    assert s.key_names_problems({"cluster_url": "GITHUB_TOKEN"}, defaults, "rhdh_secret_keys") == [
        "rhdh_secret_keys gives the key name GITHUB_TOKEN to github_token and cluster_url; each value needs its own "
        "key in the Secret."]
    assert s.key_names_problems("GITHUB_TOKEN", defaults, "rhdh_secret_keys")[0].startswith(
        "rhdh_secret_keys must be a mapping of logical key to key name")
