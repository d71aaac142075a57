"""The namespace_labels module's main() as Ansible runs it, against an in-memory API."""

from ansible_collections.parodos.orchestrator.plugins.module_utils import namespace_labels as nl
from ansible_collections.parodos.orchestrator.plugins.modules import namespace_labels
from tests.unit.fakes import FakeApi

NS = "/api/v1/namespaces/"
ARGO = {"rhdh.redhat.com/argocd-namespace": ""}


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {}}}


def test_main_result_and_diff(run_module):
    api = FakeApi({NS + "gitops": namespace("gitops")})
    code, result = run_module(namespace_labels, {"namespaces": [{"name": "gitops", "labels": ARGO},
                                                                {"name": "absent-ns", "labels": ARGO}]},
                              api=api, diff=True)
    assert code == 0 and result["changed"] is True
    assert result["missing"] == ["absent-ns"]
    assert result["diff"]["after"]["gitops"]["annotations"] == {
        nl.RECORD: '{"labels": {"rhdh.redhat.com/argocd-namespace": null}}'}
    code, result = run_module(namespace_labels, {"namespaces": [{"name": "gitops", "labels": ARGO}]}, api=api)
    assert code == 0 and result["changed"] is False


def test_main_rejects_bad_options_before_connecting(run_module):
    code, result = run_module(namespace_labels, {"namespaces": [{"name": "x", "labels": {"a b": "c"}}]})
    assert code == 1 and "Invalid options" in result["msg"]
