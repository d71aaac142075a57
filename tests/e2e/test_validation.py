"""Bad settings are rejected before anything is written, with a message that names the setting.

Each case (setting, bad value, text the message must hold) goes through
playbooks/site.yml (cleanup_* through playbooks/cleanup.yml) against one test
cluster. A role lists every bad setting in one failure, so cases of one role are
run together; a case whose message does not show up in its batch (masked by an
argument-spec failure, which stops the role before its checks, or by a setting
that changes what is checked) is run again with the others that did not, and
last on its own. Every case must end in a failed run whose failure has a line
naming the setting and holding the expected text, and in no write at all (dry
runs included) since that run started.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict

import pytest
import yaml

from tests.cluster import LocalCluster
from tests.helpers import REPO_ROOT, run_playbook, writes

# One worker runs every case: the bad-input runs (the session fixture outcomes) are made once.
pytestmark = pytest.mark.xdist_group("validation")

SITE = REPO_ROOT / "playbooks" / "site.yml"
CLEANUP = REPO_ROOT / "playbooks" / "cleanup.yml"
FAST = {"__serverless_poll_delay": 0.2, "__serverless_logic_poll_delay": 0.2, "__postgresql_poll_delay": 1,
        "__rhdh_poll_delay": 0.2, "__cleanup_poll_delay": 0.2}
ROLES = ("serverless_logic", "serverless", "postgresql", "rhdh", "gitops", "prerequisites", "cleanup")
FILES = REPO_ROOT / "tests" / "e2e" / "files"
TEKTON = {"orchestrator_gitops_enabled": True, "orchestrator_tekton_enabled": True}
SHA512 = "sha512-A/twx1SOOGDQjglLzOxQikKO0XOdPP1jh2lj9Y/92bLox8mT+eaZpub8YLwR2mb7LsUIUImg+U6VnKwoAV9ATA=="
ORCHESTRATOR = "backstage-plugin-orchestrator@1.3.0"
# What ansible-core says when a value does not pass a role's argument spec.
SPEC_TEXTS = ("unable to convert to", "must be one of:", "Got no match for")


@dataclasses.dataclass(frozen=True, eq=False)
class Case:
    var: str
    value: object
    expect: str
    context: tuple = ()  # (name, JSON value) pairs of other settings the case needs
    cleanup: bool = False  # through playbooks/cleanup.yml even without the cleanup_ prefix

    @property
    def playbook(self):
        return CLEANUP if self.cleanup or self.var.startswith("cleanup_") else SITE

    @property
    def owner(self):
        return next((role for role in ROLES if self.var.startswith(role + "_")), "orchestrator")

    @property
    def by_spec(self):
        """Whether the role's argument spec rejects it (the role then stops before its checks)."""
        return any(text in self.expect for text in SPEC_TEXTS)


def case(var, value, expect, cleanup=False, **context):
    return Case(var, value, expect, tuple(sorted((k, json.dumps(v)) for k, v in context.items())), cleanup)


def context_vars(c):
    return {k: json.loads(v) for k, v in c.context}


CASES = [
    # serverless
    case("serverless_operator_namespace", "Openshift_Serverless", "must be a namespace name"),
    case("serverless_operator_group", "", "must be an object name: it is empty"),
    case("serverless_channel", "Stable Channel", "must be an object name"),
    case("serverless_approval", "automatic", "must be one of: Automatic, Manual"),
    case("serverless_starting_csv", "serverless-operator v1.34", "must be empty or an object name"),
    case("serverless_operator_timeout", "10m", "unable to convert to int"),
    case("serverless_operator_timeout", -1,
         "must be a number of seconds above 0 (at most 86400, one day): it must be at least 1"),
    case("serverless_knative_timeout", 600000, "give seconds, not milliseconds"),
    case("serverless_knative_serving_namespace", "knative-serving-2",
         "OpenShift Serverless requires KnativeServing in the knative-serving namespace"),
    case("serverless_knative_eventing_namespace", "eventing",
         "OpenShift Serverless requires KnativeEventing in the knative-eventing namespace"),
    case("serverless_knative_serving_spec", "replicas=2",
         "must be a mapping of the fields of the spec of KnativeServing"),
    case("serverless_knative_serving_spec", [1], "unable to convert to dict"),
    case("serverless_knative_eventing_spec", {"apiVersion": "operator.knative.dev/v1beta1", "kind": "KnativeEventing",
                                              "spec": {}}, "not a whole object"),
    case("serverless_chanel", "stable", "no role of the collection has such a setting, so it would be ignored; "
                                        "did you mean serverless_channel?"),
    # serverless_logic
    case("serverless_logic_data_index_image", "quay.io/kiegroup/Data-Index:1.34",
         "must be empty or an image reference such as registry.example.com/team/name:tag"),
    case("serverless_logic_jobs_service_image", "https://quay.io/kiegroup/jobs-service", "leave out the scheme"),
    case("serverless_logic_build_resources", {"requests": {"memory": "64MB"}},
         "requests.memory (64MB): it is not a Kubernetes quantity"),
    case("serverless_logic_build_resources", {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
         "requests.cpu (2) is above limits.cpu (1)"),
    case("serverless_logic_build_resources", {"limit": {"cpu": "1"}}, "allowed keys are requests, limits"),
    case("serverless_logic_platform_name", "Sonataflow", "must be an object name"),
    case("serverless_logic_platform_name", "p" * 50, "at most 44 characters"),
    case("serverless_logic_cluster_platform_name", "cluster platform", "must be an object name"),
    case("serverless_logic_postgresql_port", 70000, "must be a port number from 1 to 65535"),
    case("serverless_logic_postgresql_port", "fivefour", "unable to convert to int"),
    case("serverless_logic_postgresql_user_key", "user name", "must be a key of a Secret"),
    case("serverless_logic_postgresql_database", "", "must be a database name of 1 to 63 characters"),
    case("serverless_logic_postgresql_service_name", "1db", "must be a Service name"),
    case("serverless_logic_monitoring_namespace", "openshift_monitoring", "must be empty or a namespace name"),
    case("serverless_logic_admit_operator_namespace", "maybe", "unable to convert to bool"),
    case("serverless_logic_approval", "Auto", "must be one of: Automatic, Manual"),
    case("serverless_logic_platform_timeout", "ten", "unable to convert to int"),
    case("serverless_logic_chanel", "alpha", "did you mean serverless_logic_channel?"),
    # postgresql
    case("postgresql_mode", "managed", "must be one of: deploy, external"),
    case("postgresql_port", 0, "must be a port number from 1 to 65535"),
    case("postgresql_image", "registry.redhat.io/rhel9/PostgreSQL-15", "must be lower-case"),
    case("postgresql_storage_size", "1GB", "must be a positive Kubernetes quantity"),
    case("postgresql_storage_size", "500m", "did you mean 500Mi?"),
    case("postgresql_storage_class", "Fast_SSD", "must be empty or a StorageClass name"),
    case("postgresql_resources", {"limits": {"memroy": "1Gi"}}, "did you mean memory?"),
    case("postgresql_resources", {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}},
         "requests.memory (2Gi) is above limits.memory (1Gi)"),
    case("postgresql_database", "sonata-flow", "the PostgreSQL image creates the database from that name"),
    case("postgresql_username", "sonata flow", "must be a user name of 1 to 63 letters, digits and _"),
    case("postgresql_secret_user_key", "user/name", "must be a key of a Secret"),
    case("postgresql_secret_password_key", "postgres-username", "must differ"),
    case("postgresql_service_name", "PostgreSQL", "must be a Service name"),
    case("postgresql_namespace", "-infra", "must be a namespace name"),
    case("postgresql_service_namespace", "elsewhere", "must be empty or equal to postgresql_namespace"),
    case("postgresql_wait_timeout", 0, "must be a number of seconds above 0"),
    case("postgresql_database_job_image", "quay.io/team/psql@sha256:1234", "the digest after @"),
    case("postgresql_database_job_name", "create_db", "must be a Job name of 1 to 63 lower-case letters"),
    case("postgresql_database_job", "sometimes", "unable to convert to bool"),
    case("postgresql_external_ssl_mode", "strict", "must be one of: disable, allow, prefer"),
    case("postgresql_external_host", "db.example.com:5432", "leave out the port", postgresql_mode="external"),
    case("postgresql_create_database", True, "needs postgresql_external_host", postgresql_mode="external"),
    case("postgresql_external_login_user", "db admin", "must be empty (the user in the Secret) or a PostgreSQL user",
         postgresql_mode="external"),
    case("postgresql_namespase", "sonataflow-infra", "did you mean postgresql_namespace?"),
    # rhdh
    case("rhdh_plugins", {"orchestrator": {"package": ORCHESTRATOR, "integrity": "md5-1B2M2Y8AsgTpgAmY7PhCfg=="}},
         "md5 is not accepted; only sha256, sha384 and sha512 hashes are"),
    case("rhdh_plugins", {"orchestrator": {"package": "backstage-plugin-orchestrator@1.3.1"}},
         "no integrity is given"),
    case("rhdh_plugins", {"orchestrater": {"package": ORCHESTRATOR, "integrity": SHA512}},
         "did you mean orchestrator?"),
    case("rhdh_plugins", {"orchestrator": {"package": "@redhat/" + ORCHESTRATOR, "integrity": SHA512}},
         "leave out the scope"),
    case("rhdh_plugins", {"signals": {"integrity": "sha512-AAAA"}}, "a sha512 digest is 64 bytes"),
    case("rhdh_plugins", {"signals": "plugin-signals-dynamic@1.3.0"},
         "must be a mapping with package and/or integrity"),
    case("rhdh_plugins", "orchestrator", "unable to convert to dict"),
    case("rhdh_email_sender", "orchestrator.example.com", "must be empty or an e-mail address"),
    case("rhdh_email_reply_to", "ops@localhost", "is not a domain name"),
    case("rhdh_email_hostname", "smtp://mail.example.com", "leave out the scheme"),
    case("rhdh_email_port", 0, "must be a port number from 1 to 65535"),
    case("rhdh_email_enabled", True, "needs rhdh_email_sender", rhdh_email_hostname="smtp.example.com"),
    case("rhdh_npm_registry", "npm.registry.redhat.com", "must start with http:// or https://"),
    case("rhdh_catalog_locations", "https://github.com/team/catalog/blob/main/catalog-info.yaml",
         "must be a list of URLs"),
    case("rhdh_catalog_locations", ["https://example.com/a.yaml", "github.com/team/b.yaml"],
         "rhdh_catalog_locations[1] (github.com/team/b.yaml) must be an http or https URL"),
    case("rhdh_catalog_branch", "v1.3.x ", "must be a git branch or tag name"),
    case("rhdh_users_location", "file:///users.yaml", "must start with http:// or https://"),
    case("rhdh_secret_keys", {"github_tokn": "GH_TOKEN"}, "did you mean github_token?"),
    case("rhdh_secret_keys", {"github_token": "K8S_CLUSTER_URL"}, "gives the key name K8S_CLUSTER_URL to"),
    case("rhdh_secret_keys", {"github_token": "GITHUB TOKEN"}, "must be a key of a Secret"),
    case("rhdh_github_client_id", "Iv1.0123456789abcdef", "go together: set both or neither"),
    case("rhdh_github_token", "ghp_0123456789\n", "contains white space"),
    case("rhdh_backstage_name", "Backstage", "must start with a letter and hold only lower-case letters"),
    case("rhdh_backstage_name", "b" * 50, "Route host label"),
    case("rhdh_namespace", "my-rhdh", "must be orchestrator_rhdh_namespace"),
    case("rhdh_plugin_scope", "redhat", "must be an npm scope"),
    case("rhdh_service_account_cluster_role", "admin", "must be one of: orchestrator-rhdh-reader, cluster-admin"),
    case("rhdh_timeout", "15m", "unable to convert to int"),
    case("rhdh_operator_timeout", 0, "must be a number of seconds above 0"),
    case("rhdh_existing_namespace", "existing-rhdh", "go together: set both (existing RHDH) or neither"),
    case("rhdh_app_title", "", "must be a title on one line"),
    case("rhdh_guest_provider", "perhaps", "unable to convert to bool"),
    case("rhdh_chanel", "fast-1.3", "did you mean rhdh_channel?"),
    case("rhdh_secret_remove_keys", ["github_token"], "which this run also gives a value",
         rhdh_github_token="ghp_0123456789"),
    case("rhdh_secret_remove_keys", ["backend_secret"], "Got no match for: backend_secret"),
    case("rhdh_email_username", "notifications\n", "contains a line break"),
    # gitops
    case("orchestrator_tekton_enabled", True, "orchestrator_tekton_enabled needs orchestrator_gitops_enabled"),
    case("gitops_install_operators", True, "gitops_install_operators needs orchestrator_gitops_enabled: true"),
    case("gitops_docker_config_files", [str(FILES / "missing-auth.json")], "missing-auth.json cannot be read",
         **TEKTON),
    case("gitops_docker_config_files", [str(FILES / "auth-not-json.json")], "is not valid JSON", **TEKTON),
    case("gitops_docker_config_files", [str(FILES / "auth-without-auths.json")], "has no auths map", **TEKTON),
    case("gitops_docker_config_files", "~/auth.json", "must be a list of paths of registry auth files", **TEKTON),
    case("gitops_docker_config_files", [str(FILES / "auth-not-json.json")],
         "the docker-credentials Secret is for the Tekton pipeline", orchestrator_gitops_enabled=True),
    case("gitops_git_ssh_key", "ssh-rsa AAAAB3NzaC1yc2E public", "does not hold a private key",
         gitops_git_ssh_known_hosts="github.com ssh-ed25519 AAAA", **TEKTON),
    case("gitops_git_ssh_known_hosts", "github.com ssh-ed25519 AAAA", "gitops_git_ssh_key or gitops_git_ssh_key_file "
         "must be set", **TEKTON),
    case("gitops_git_ssh_key_file", str(FILES / "missing_id_rsa"), "missing_id_rsa cannot be read",
         gitops_git_ssh_known_hosts="github.com ssh-ed25519 AAAA", **TEKTON),
    case("gitops_git_branch", "main branch", "must be a git branch or tag name"),
    case("gitops_image_registry", "quay.io/my-org", "without a path"),
    case("gitops_kn_workflow_version", "1.35", "must be a version such as 1.33.0"),
    case("gitops_buildah_namespace", "Openshift_Pipelines", "must be a namespace name"),
    case("gitops_git_user_email", "pipeline", "must be an e-mail address"),
    case("gitops_approval", "auto", "must be one of: Automatic, Manual"),
    case("gitops_chanel", "latest", "did you mean gitops_channel?"),
    # prerequisites
    case("prerequisites_openshift_min_version", "4", "must look like 4.13 or 4.13.2"),
    case("prerequisites_openshift_min_version", 4.10, "must be given in quotes"),
    case("prerequisites_openshift_max_version", "4.12", "is below prerequisites_openshift_min_version"),
    case("prerequisites_supported_architectures", ["x86_64"], "x86_64 is amd64"),
    case("prerequisites_write_access", [{"verb": "create", "resource": "Namespaces"}],
         "must be the plural of a resource"),
    case("prerequisites_write_access", [{"verb": "make", "resource": "namespaces"}], "must be one of: create"),
    case("prerequisites_fail_on_problems", "sometimes", "unable to convert to bool"),
    case("prerequisites_fail_on_problem", False, "did you mean prerequisites_fail_on_problems?"),
    # shared settings (the common role), and names of no role
    case("orchestrator_workflow_namspace", "sonataflow-infra", "did you mean orchestrator_workflow_namespace?"),
    case("orchestrator_catalog_sources", "redhat-operators", "did you mean orchestrator_catalog_source?"),
    case("orchestrator_catalog_source", "Red Hat Operators", "must be a name"),
    case("orchestrator_workflow_namespace", "SonataFlow", "must be a namespace name"),
    case("orchestrator_components", "rhdh", "must be a list of component names"),
    case("orchestrator_gitops_enabled", "maybe", "unable to convert to bool"),
    case("orchestrator_extra_workflow_namespaces", ["team-a", "Team_B"], "[1].name (Team_B) must be a namespace name"),
    case("orchestrator_extra_workflow_namespaces", ["team-a", {"name": "team-a"}], "[1].name (team-a) is listed twice"),
    case("orchestrator_extra_workflow_namespaces", ["sonataflow-infra"],
         "is already the platform's workflow namespace (orchestrator_workflow_namespace)"),
    case("orchestrator_extra_workflow_namespaces", [{"name": "team-a", "persistence": "yes"}],
         '[0].persistence ("yes") must be true or false (a boolean, not a string)'),
    case("orchestrator_extra_workflow_namespaces", [{"name": "team-a", "persitence": True}],
         "[0] has unknown key(s) persitence; the keys are name, persistence, schema"),
    case("orchestrator_extra_workflow_namespaces", [{"name": "team-a", "schema": "Team A"}],
         "[0].schema (Team A) must be a PostgreSQL schema name"),
    case("orchestrator_extra_workflow_namespaces", [{"name": "team-a", "schema": "pg_team"}],
         "reserved for the system schemas"),
    # cleanup (playbooks/cleanup.yml)
    case("cleanup_components", "rhdh", "must be a list of components, such as [rhdh, serverless_logic"),
    case("cleanup_components", ["rhdh", "gitopz"], "Got no match for: gitopz"),
    case("cleanup_components", [], "is empty"),
    case("cleanup_timeout", 0, "must be a number of seconds above 0"),
    case("cleanup_timeout", "5m", "unable to convert to int"),
    case("cleanup_remove_crds", "maybe", "unable to convert to bool"),
    case("cleanup_rhdh_existing_namespace", "existing-rhdh", "are set together, or neither"),
    case("cleanup_rhdh_existing_backstage", "Developer_Hub", "must be empty or an object name",
         cleanup_rhdh_existing_namespace="existing-rhdh"),
    case("cleanup_timout", 30, "did you mean cleanup_timeout?"),
    case("cleanup_workflow_namespaces", [{"name": "team_b"}], "[0].name (team_b) must be a namespace name"),
    case("cleanup_remove_rhdh_database", "perhaps", "unable to convert to bool"),
    # The cleanup role checks the shared names too.
    case("orchestrator_kubeconfg", "/tmp/kubeconfig", "did you mean orchestrator_kubeconfig?", cleanup=True),
]


def case_ids(cases):
    """setting=value, cut short, numbered when two cut ids are the same."""
    ids, seen = [], defaultdict(int)
    for c in cases:
        text = "%s=%s" % (c.var, json.dumps(c.value)[:40])
        seen[text] += 1
        ids.append(text if seen[text] == 1 else "%s#%d" % (text, seen[text]))
    return ids


@dataclasses.dataclass
class Outcome:
    returncode: int
    lines: list
    writes: list
    output: str

    def rejects(self, c):
        return self.returncode != 0 and any(c.var in line and c.expect in line for line in self.lines)


def failure_lines(output):
    """The lines of every failure the run reported: the assert's list, or the argument-spec errors."""
    lines = []
    marker = "FAILED! => "
    start = output.find(marker)
    while start >= 0:
        try:
            result = json.JSONDecoder().raw_decode(output[start + len(marker):])[0]
        except ValueError:
            result = {}
        msg = result.get("msg", "")
        lines += [str(line) for line in (msg if isinstance(msg, list) else str(msg).splitlines())]
        lines += [str(line) for line in result.get("argument_errors") or []]
        start = output.find(marker, start + 1)
    return lines


def run_batch(cluster, batch):
    extra = dict(FAST)
    for c in batch:
        extra.update(context_vars(c))
        extra[c.var] = c.value
    start = len(cluster.requests.entries)
    proc = run_playbook(cluster, batch[0].playbook, extra, timeout=400)
    output = proc.stdout + proc.stderr
    return Outcome(proc.returncode, failure_lines(proc.stdout), writes(cluster, dry_run=None, since=start), output)


def batches(cases):
    """Cases of one playbook, role, stage and context, with each setting at most once per batch."""
    groups = defaultdict(list)
    for c in cases:
        groups[(str(c.playbook), c.owner, c.by_spec, c.context)].append(c)
    out = []
    for group in groups.values():
        rounds = []
        for c in group:
            for batch in rounds:
                if all(other.var != c.var for other in batch):
                    batch.append(c)
                    break
            else:
                rounds.append([c])
        out += rounds
    return out


def run_cases(cluster, cases):
    """Outcome of each case: the run that rejected it, else its run on its own."""
    results, pending = {}, list(cases)
    while pending:
        progress = False
        for batch in batches(pending):
            outcome = run_batch(cluster, batch)
            for c in batch:
                if outcome.rejects(c):
                    results[c], progress = outcome, True
                elif len(batch) == 1:
                    results[c] = outcome
        pending = [c for c in pending if c not in results]
        if not progress:
            break
    for c in pending:
        results[c] = run_batch(cluster, [c])
    return results


@pytest.fixture(scope="session")
def outcomes():
    """The runs of every case, made once per worker on a cluster of their own (a module-scoped fixture
    would be made again whenever the worker runs tests of another module in between)."""
    cluster = LocalCluster().start()
    try:
        return run_cases(cluster, CASES)
    finally:
        cluster.stop()


def test_enough_bad_inputs_across_the_roles():
    assert len(CASES) >= 59
    assert len({(c.var, json.dumps(c.value, sort_keys=True), c.context) for c in CASES}) == len(CASES)
    owners = {c.owner for c in CASES}
    assert owners == set(ROLES) | {"orchestrator"}
    assert {c.playbook for c in CASES} == {SITE, CLEANUP}


@pytest.mark.parametrize("bad", CASES, ids=case_ids(CASES))
def test_bad_setting_is_rejected_before_any_write(outcomes, bad):
    outcome = outcomes[bad]
    assert outcome.returncode != 0, outcome.output[-4000:]
    named = [line for line in outcome.lines if bad.var in line]
    assert named, "no failure line names %s:\n%s" % (bad.var, "\n".join(outcome.lines) or outcome.output[-4000:])
    assert any(bad.expect in line for line in named), "expected %r in:\n%s" % (bad.expect, "\n".join(named))
    assert outcome.writes == [], outcome.writes


def test_partial_rhdh_plugins_keep_the_other_defaults(cluster):
    """One plugin given (package and integrity): the ConfigMap has it and the default of every other plugin."""
    wanted = {"orchestrator": {"package": "backstage-plugin-orchestrator@1.3.1", "integrity": SHA512},
              "signals_backend": {"integrity": SHA512}}
    proc = run_playbook(cluster, SITE, {**FAST, "rhdh_plugins": wanted}, timeout=400)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    defaults = yaml.safe_load((REPO_ROOT / "roles" / "rhdh" / "vars" / "main.yml").read_text())[
        "__rhdh_default_plugins"]
    configmap = cluster.store.get("v1", "ConfigMap", "dynamic-plugins-rhdh", "rhdh-operator")
    plugins = {p["package"]: p.get("integrity") for p in yaml.safe_load(configmap["data"]["dynamic-plugins.yaml"])[
        "plugins"] if p["package"].startswith("@redhat/")}
    expected = {
        "@redhat/backstage-plugin-orchestrator@1.3.1": SHA512,
        "@redhat/" + defaults["orchestrator_backend"]["package"]: defaults["orchestrator_backend"]["integrity"],
        "@redhat/" + defaults["notifications"]["package"]: defaults["notifications"]["integrity"],
        "@redhat/" + defaults["notifications_backend"]["package"]: defaults["notifications_backend"]["integrity"],
        "@redhat/" + defaults["signals"]["package"]: defaults["signals"]["integrity"],
        "@redhat/" + defaults["signals_backend"]["package"]: SHA512,
    }
    assert plugins == expected
