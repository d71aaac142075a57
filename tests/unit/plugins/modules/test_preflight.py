"""The preflight module as Ansible runs it: arguments in, JSON out."""

import json
import socket

from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s
from ansible_collections.parodos.orchestrator.plugins.modules import preflight
from tests.unit.fakes import preflight_api

PACKAGES = [{"name": "rhdh", "channel": "fast-1.3"}, {"name": "serverless-operator", "channel": "stable"}]


def test_ready_cluster(run_module):
    api = preflight_api()
    code, result = run_module(preflight, {"packages": PACKAGES}, api)
    assert code == 0
    assert result["changed"] is False
    assert result["problems"] == [] and result["report"] == ""
    assert result["cluster"]["domain"] == "apps.example.test"
    assert result["cluster"]["openshift_version"] == "4.16.8"
    names = [c["name"] for c in result["checks"]]
    assert names[:3] == ["api", "write_access", "openshift"]
    assert "package/rhdh" in names


def test_check_mode_runs_the_checks(run_module):
    api = preflight_api(allowed=False)
    code, result = run_module(preflight, {}, api, check=True)
    assert code == 0
    assert [p["name"] for p in result["problems"]] == ["write_access"]
    assert "Preflight found 1 problem(s)" in result["report"]
    assert api.calls()[0] == ("GET", "/version")


def test_fail_on_problems_fails_with_the_report(run_module):
    api = preflight_api(allowed=False)
    code, result = run_module(preflight, {"fail_on_problems": True}, api)
    assert code == 1
    assert result["msg"] == result["report"] and "Preflight found 1 problem(s)" in result["msg"]
    assert [p["name"] for p in result["problems"]] == ["write_access"]
    code, result = run_module(preflight, {"fail_on_problems": True}, preflight_api())
    assert code == 0 and result["problems"] == []


def test_defaults_check_namespaces_and_crds(run_module):
    api = preflight_api(allowed=False)
    code, result = run_module(preflight, {}, api)
    assert code == 0
    message = result["problems"][0]["message"]
    assert "create namespaces, create customresourcedefinitions.apiextensions.k8s.io" in message


def test_invalid_version_fails_before_connecting(run_module):
    code, result = run_module(preflight, {"openshift_min_version": "latest"})
    assert code == 1 and result["failed"]
    assert "openshift_min_version must look like" in result["msg"]


def test_read_errors_become_warnings(run_module):
    api = preflight_api()
    api.fail(k8s.ApiError("nodes is forbidden", 403), path="/api/v1/nodes")
    code, result = run_module(preflight, {}, api)
    assert code == 0
    assert result["read_errors"] == ["GET /api/v1/nodes: nodes is forbidden"]


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_cluster_is_one_problem(run_module, monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # no discovery cache from elsewhere
    host = "https://127.0.0.1:%d" % _closed_port()
    code, result = run_module(preflight, {"host": host, "api_key": "x", "validate_certs": False},
                              connect=k8s.connect)
    assert code == 0
    assert [p["name"] for p in result["problems"]] == ["api"]
    assert result["problems"][0]["message"].startswith("Cannot reach the Kubernetes API at " + host)
    assert "Traceback" not in json.dumps(result)
    assert result["cluster"]["olm"] is False
