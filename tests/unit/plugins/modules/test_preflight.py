"""The preflight module as Ansible runs it: arguments in, JSON out."""

import contextlib
import json
import socket

import pytest

from ansible.module_utils import basic
from ansible_collections.parodos.orchestrator.plugins.modules import preflight
from tests.unit.fakes import FakeApi

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19

    @contextlib.contextmanager
    def patch_module_args(args=None):
        from ansible.module_utils.common.text.converters import to_bytes

        previous = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = previous


def run_module(args, monkeypatch, capsys, api=None):
    """Run main() with args; return (exit code, result dict)."""
    if api is not None:
        monkeypatch.setattr(preflight, "connect", lambda module: (api, None))
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        preflight.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


@pytest.fixture(autouse=True)
def no_auth_env(monkeypatch):
    for name in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)


PACKAGES = [{"name": "rhdh", "channel": "fast-1.3"}, {"name": "serverless-operator", "channel": "stable"}]


def test_ready_cluster(monkeypatch, capsys):
    api = FakeApi()
    code, result = run_module({"packages": PACKAGES}, monkeypatch, capsys, api)
    assert code == 0
    assert result["changed"] is False
    assert result["problems"] == [] and result["report"] == ""
    assert result["cluster"]["domain"] == "apps.example.test"
    assert result["cluster"]["openshift_version"] == "4.16.8"
    names = [c["name"] for c in result["checks"]]
    assert names[:3] == ["api", "write_access", "openshift"]
    assert "package/rhdh" in names


def test_check_mode_runs_the_checks(monkeypatch, capsys):
    api = FakeApi(allowed=False)
    code, result = run_module({"_ansible_check_mode": True}, monkeypatch, capsys, api)
    assert code == 0
    assert [p["name"] for p in result["problems"]] == ["write_access"]
    assert "Preflight found 1 problem(s)" in result["report"]
    assert api.requests[0] == ("GET", "/version")


def test_defaults_check_namespaces_and_crds(monkeypatch, capsys):
    api = FakeApi(allowed=False)
    code, result = run_module({}, monkeypatch, capsys, api)
    assert code == 0
    message = result["problems"][0]["message"]
    assert "create namespaces, create customresourcedefinitions.apiextensions.k8s.io" in message


def test_invalid_version_fails(monkeypatch, capsys):
    code, result = run_module({"openshift_min_version": "latest"}, monkeypatch, capsys, FakeApi())
    assert code == 1 and result["failed"]
    assert "openshift_min_version must look like" in result["msg"]


def test_read_errors_become_warnings(monkeypatch, capsys):
    from ansible_collections.parodos.orchestrator.plugins.module_utils.preflight import ApiError

    api = FakeApi()
    api.routes["/api/v1/nodes"] = ApiError("nodes is forbidden", 403)
    code, result = run_module({}, monkeypatch, capsys, api)
    assert code == 0
    assert result["read_errors"] == ["GET /api/v1/nodes: nodes is forbidden"]


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_cluster_is_one_problem(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # no discovery cache from elsewhere
    host = "https://127.0.0.1:%d" % _closed_port()
    code, result = run_module({"host": host, "api_key": "x", "validate_certs": False},
                              monkeypatch, capsys)
    assert code == 0
    assert [p["name"] for p in result["problems"]] == ["api"]
    assert result["problems"][0]["message"].startswith("Cannot reach the Kubernetes API at " + host)
    assert "Traceback" not in json.dumps(result)
    assert result["cluster"]["olm"] is False
