"""The Secrets of the GitOps pipeline (plugins/filter/gitops.py): merged registry auth files, SSH credentials."""

import base64
import json

import pytest

from ansible_collections.parodos.orchestrator.plugins.filter import gitops as g

QUAY = {"auths": {"quay.io": {"auth": base64.b64encode(b"org+robot:robot-token").decode(), "email": ""}}}
REDHAT = {"auths": {"registry.redhat.io": {"auth": base64.b64encode(b"1234|sa:rh-token").decode()}}}
SECRET_TEXTS = ("robot-token", "rh-token", "b3JnK3JvYm90", "MTIzNHxzYTpyaC10b2tlbg")
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_two_auth_files_are_merged_in_one_dockerconfigjson(tmp_path):
    files = [write(tmp_path, "quay.json", QUAY), write(tmp_path, "redhat.json", REDHAT)]
    assert g.docker_config_problems(files) == []
    merged = json.loads(g.docker_config(files))
    assert merged == {"auths": {**QUAY["auths"], **REDHAT["auths"]}}
    assert g.registries(files) == ["quay.io", "registry.redhat.io"]


def test_the_merge_is_the_same_text_whatever_the_order_and_spacing(tmp_path):
    a = write(tmp_path, "a.json", json.dumps(QUAY, indent=4))
    b = write(tmp_path, "b.json", REDHAT)
    assert g.docker_config([a, b]) == g.docker_config([b, a])
    assert " " not in g.docker_config([a, b])


def test_only_the_auths_of_a_file_are_kept(tmp_path):
    path = write(tmp_path, "podman.json", {**QUAY, "credHelpers": {"gcr.io": "gcloud"}})
    assert json.loads(g.docker_config([path])) == QUAY


def test_the_same_registry_with_the_same_credentials_twice_is_fine(tmp_path):
    files = [write(tmp_path, "a.json", QUAY), write(tmp_path, "b.json", QUAY)]
    assert g.docker_config_problems(files) == []
    assert json.loads(g.docker_config(files)) == QUAY


@pytest.mark.parametrize("content, fragment", [
    ("{not json", "is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
    ("", "is not valid JSON"),
    ({"quay.io": {"auth": "x"}}, "has no auths map"),
    ({"auths": ["quay.io"]}, "has no auths map"),
    ({"auths": {}}, "has an empty auths map"),
    ({"auths": {"quay.io": "dXNlcjpwYXNz"}}, "has auths entries that are not mappings: quay.io"),
    ([1, 2], "has no auths map"),
])
def test_a_bad_auth_file_is_named_with_the_setting(tmp_path, content, fragment):
    good = write(tmp_path, "good.json", REDHAT)
    bad = write(tmp_path, "bad.json", content)
    problems = g.docker_config_problems([good, bad])
    assert len(problems) == 1
    assert problems[0].startswith("gitops_docker_config_files[1]: file %s " % bad)
    assert fragment in problems[0]


def test_a_missing_auth_file(tmp_path):
    missing = str(tmp_path / "nope.json")
    assert g.docker_config_problems([missing]) == [
        "gitops_docker_config_files[0]: file %s cannot be read (No such file or directory)." % missing]


def test_conflicting_credentials_for_one_registry(tmp_path):
    other = {"auths": {"quay.io": {"auth": base64.b64encode(b"org+other:other-token").decode()}}}
    files = [write(tmp_path, "a.json", QUAY), write(tmp_path, "b.json", other)]
    problems = g.docker_config_problems(files)
    assert problems == ["gitops_docker_config_files[1]: file %s gives other credentials for quay.io than "
                        "gitops_docker_config_files[0]; name each registry in one file only." % files[1]]


@pytest.mark.parametrize("value", ["~/auth.json", {"a": 1}, 3])
def test_the_setting_must_be_a_list(value):
    assert g.docker_config_problems(value)[0].startswith("gitops_docker_config_files must be a list of paths")


def test_no_message_shows_a_credential(tmp_path):
    other = {"auths": {"quay.io": {"auth": base64.b64encode(b"org+other:robot-token-2").decode()}}}
    bad_json = write(tmp_path, "bad.json", '{"auths": {"quay.io": {"auth": "robot-token"}}')
    files = [write(tmp_path, "a.json", QUAY), write(tmp_path, "b.json", other), bad_json]
    text = " ".join(g.docker_config_problems(files))
    assert text
    for secret in SECRET_TEXTS + ("robot-token-2",):
        assert secret not in text


def test_a_home_relative_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path, "quay.json", QUAY)
    assert g.docker_config_problems(["~/quay.json"]) == []
    assert json.loads(g.docker_config(["~/quay.json"])) == QUAY


# ------------------------------------------------------------------ SSH credentials


def test_no_ssh_setting_means_no_secret():
    settings = {var: "" for key, value_var, file_var in g.SSH_KEYS for var in (value_var, file_var)}
    assert g.ssh_credentials_problems(settings) == []
    assert g.ssh_credentials(settings) == {}


def test_ssh_credentials_from_files_and_values(tmp_path):
    settings = {"gitops_git_ssh_key_file": write(tmp_path, "id_rsa", KEY + "\n"),
                "gitops_git_ssh_known_hosts": "github.com ssh-ed25519 AAAAC3Nza",
                "gitops_git_ssh_config": ""}
    assert g.ssh_credentials_problems(settings) == []
    data = g.ssh_credentials(settings)
    assert data == {"id_rsa": KEY + "\n", "known_hosts": "github.com ssh-ed25519 AAAAC3Nza\n",
                    "config": g.DEFAULT_SSH_CONFIG}
    assert list(data) == ["id_rsa", "known_hosts", "config"]


def test_a_key_without_its_last_line_break_gets_one():
    data = g.ssh_credentials({"gitops_git_ssh_key": KEY, "gitops_git_ssh_known_hosts": "h k",
                              "gitops_git_ssh_config": "Host github.com\n  IdentityFile ~/.ssh/id_rsa"})
    assert data["id_rsa"] == KEY + "\n"
    assert data["config"] == "Host github.com\n  IdentityFile ~/.ssh/id_rsa\n"


@pytest.mark.parametrize("settings, expected", [
    ({"gitops_git_ssh_key": KEY, "gitops_git_ssh_key_file": "/k", "gitops_git_ssh_known_hosts": "h k"},
     ["gitops_git_ssh_key and gitops_git_ssh_key_file both give id_rsa: set one of them."]),
    ({"gitops_git_ssh_key": KEY},
     ["gitops_git_ssh_known_hosts or gitops_git_ssh_known_hosts_file must be set when the SSH credentials are given "
      "(gitops_git_ssh_key): the pipeline needs known_hosts."]),
    ({"gitops_git_ssh_known_hosts": "h k", "gitops_git_ssh_config": "Host *"},
     ["gitops_git_ssh_key or gitops_git_ssh_key_file must be set when the SSH credentials are given "
      "(gitops_git_ssh_known_hosts, gitops_git_ssh_config): the pipeline needs id_rsa."]),
    ({"gitops_git_ssh_key": "ssh-rsa AAAAB3 public-key", "gitops_git_ssh_known_hosts": "h k"},
     ["gitops_git_ssh_key does not hold a private key in PEM or OpenSSH form (-----BEGIN ... PRIVATE KEY-----)."]),
    ({"gitops_git_ssh_key": "  \n", "gitops_git_ssh_known_hosts": "h k"}, ["gitops_git_ssh_key is blank."]),
    ({"gitops_git_ssh_key": ["a"]}, ["gitops_git_ssh_key must be a string."]),
])
def test_bad_ssh_settings(settings, expected):
    assert g.ssh_credentials_problems(settings) == expected


def test_a_missing_or_empty_ssh_file(tmp_path):
    missing = str(tmp_path / "id_rsa")
    empty = write(tmp_path, "known_hosts", "")
    problems = g.ssh_credentials_problems({"gitops_git_ssh_key_file": missing,
                                           "gitops_git_ssh_known_hosts_file": empty})
    assert problems == ["gitops_git_ssh_key_file: file %s cannot be read (No such file or directory)." % missing,
                        "gitops_git_ssh_known_hosts_file: file %s is empty." % empty]


def test_ssh_messages_show_no_key():
    problems = g.ssh_credentials_problems({"gitops_git_ssh_key": "secret-not-a-key-material",
                                           "gitops_git_ssh_known_hosts": "h k"})
    assert problems and "secret-not-a-key-material" not in " ".join(problems)


def test_the_filters_are_registered():
    assert set(g.FilterModule().filters()) == {"docker_config_problems", "docker_config", "docker_config_registries",
                                               "ssh_credentials_problems", "ssh_credentials"}
