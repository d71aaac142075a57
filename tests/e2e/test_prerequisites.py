"""The prerequisites role against the local test cluster: each check made to fail.

Every case starts its own cluster, runs a one-role playbook and asserts on the
run's output, and on the cluster's request log that nothing was written.
"""

from __future__ import annotations

import json
import socket

import pytest

from tests.helpers import run_playbook, writes

PLAY = {
    "name": "Check the cluster prerequisites",
    "hosts": "localhost",
    "connection": "local",
    "gather_facts": False,
    "module_defaults": {"group/parodos.orchestrator.k8s": {
        "kubeconfig": "{{ orchestrator_kubeconfig | default(omit) }}",
        "host": "{{ orchestrator_api_host | default(omit) }}",
        "api_key": "{{ orchestrator_api_key | default(omit) }}",
        "validate_certs": "{{ orchestrator_validate_certs | default(omit) }}",
    }},
    "roles": [{"role": "parodos.orchestrator.prerequisites"}],
    "tasks": [{
        "name": "Save the published facts",
        "check_mode": False,
        "changed_when": False,
        "ansible.builtin.copy": {
            "dest": "{{ facts_file }}",
            "mode": "0600",
            "content": "{{ {'domain': orchestrator_cluster_domain, 'api_url': orchestrator_cluster_api_url, "
                       "'openshift': orchestrator_openshift_version, "
                       "'kubernetes': orchestrator_kubernetes_version} | to_json }}",
        },
    }],
}


def reached_the_api(cluster):
    """The run asked the API server for its version, so an empty list of writes means something."""
    return any(e.method == "GET" and e.path == "/version" for e in cluster.requests.entries)


def run_role(cluster, tmp_path, extra_vars=None, check=False):
    """Run the role; return (rc, output, published facts or None)."""
    facts_file = tmp_path / "facts.json"
    proc = run_playbook(cluster, [PLAY], {"facts_file": str(facts_file), **(extra_vars or {})}, check=check)
    facts = json.loads(facts_file.read_text()) if facts_file.is_file() else None
    return proc.returncode, proc.stdout + proc.stderr, facts


FAILURES = [
    pytest.param({"profile": "kubernetes"}, {},
                 ["[openshift] Not an OpenShift cluster: config.openshift.io/v1 ClusterVersion 'version' was not found"],
                 id="not-openshift"),
    pytest.param({"openshift_version": "4.12.30"}, {},
                 ["[openshift_version] OpenShift 4.12.30 is older than the minimum supported 4.13"],
                 id="openshift-too-old"),
    pytest.param({}, {"prerequisites_openshift_max_version": "4.15"},
                 ["OpenShift 4.16.8 is newer than the maximum supported 4.15"],
                 id="openshift-too-new"),
    pytest.param({"olm": False}, {},
                 ["[olm] Operator Lifecycle Manager (OLM) is not installed: missing CRDs "
                  "subscriptions.operators.coreos.com"],
                 id="no-olm"),
    pytest.param({"default_storage_class": False}, {},
                 ["[default_storage_class] No default StorageClass"],
                 id="no-default-storageclass"),
    pytest.param({"node_architectures": ("arm64",)}, {},
                 ["[architecture] No node has a supported architecture (amd64); the nodes are arm64"],
                 id="arm64-only"),
    # The catalog is checked for the packages asked for (site.yml: those the operator roles subscribe to).
    pytest.param({"catalog_source": "community-operators"}, {"prerequisites_operator_packages": [{"name": "rhdh"}]},
                 ["[catalog_source] CatalogSource redhat-operators not found in namespace openshift-marketplace"],
                 id="catalog-missing"),
    pytest.param({"catalog_ready": False}, {"prerequisites_operator_packages": [{"name": "rhdh"}]},
                 ["[catalog_source] CatalogSource redhat-operators in openshift-marketplace is not ready"],
                 id="catalog-not-ready"),
    pytest.param({}, {"prerequisites_operator_packages": [{"name": "rhdh", "channel": "fast-9.9"}]},
                 ["[package/rhdh] Package rhdh has no channel fast-9.9 in catalog redhat-operators"],
                 id="unknown-channel"),
    pytest.param({}, {"orchestrator_gitops_enabled": True, "orchestrator_tekton_enabled": True},
                 ["[gitops_crds] GitOps is enabled but its CRDs are not ready: appprojects.argoproj.io (v1alpha1) "
                  "is missing", "tasks.tekton.dev (v1) is missing"],
                 id="gitops-without-crds"),
    pytest.param({"gitops": True}, {"orchestrator_gitops_enabled": True,
                                    "orchestrator_argocd_namespace": "elsewhere"},
                 ["[argocd_instance] ArgoCD instance argocd not found in namespace elsewhere"],
                 id="gitops-without-argocd-instance"),
]


@pytest.mark.parametrize("overrides, extra_vars, messages", FAILURES)
def test_failed_check_stops_before_writing(cluster_factory, tmp_path, overrides, extra_vars, messages):
    cluster = cluster_factory(**overrides)
    rc, output, facts = run_role(cluster, tmp_path, extra_vars)
    assert rc != 0, output
    for message in messages:
        assert message in output
    assert "Fix: " in output
    assert facts is None
    assert reached_the_api(cluster), "empty request log"
    assert writes(cluster, dry_run=None) == []


def test_readonly_token_has_no_write_access(cluster, tmp_path):
    kubeconfig = cluster.write_kubeconfig(tmp_path / "readonly", token=cluster.config.readonly_token)
    rc, output, facts = run_role(cluster, tmp_path, {"orchestrator_kubeconfig": str(kubeconfig)})
    assert rc != 0
    assert ("[write_access] The caller has no write access: it may not create namespaces, "
            "create customresourcedefinitions.apiextensions.k8s.io") in output
    assert "Preflight found 1 problem(s)" in output
    assert facts is None
    assert cluster.requests.find("POST", "selfsubjectaccessreviews")
    assert reached_the_api(cluster), "empty request log"
    assert writes(cluster, dry_run=None) == []


def test_unreachable_cluster_is_one_clear_problem(cluster, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = "https://127.0.0.1:%d" % port
    rc, output, facts = run_role(cluster, tmp_path, {
        "orchestrator_api_host": url, "orchestrator_api_key": "token", "orchestrator_validate_certs": False})
    assert rc != 0
    assert "Preflight found 1 problem(s)" in output
    assert "[api] Cannot reach the Kubernetes API at %s" % url in output
    assert "Traceback" not in output
    assert facts is None
    assert len(cluster.requests) == 0


def test_several_failures_are_reported_together(cluster_factory, tmp_path):
    cluster = cluster_factory(olm=False, default_storage_class=False, node_architectures=("arm64",))
    rc, output, facts = run_role(cluster, tmp_path, check=True)
    assert rc != 0
    assert "Preflight found 3 problem(s)" in output
    for message in ("[olm] Operator Lifecycle Manager (OLM) is not installed",
                    "[default_storage_class] No default StorageClass",
                    "[architecture] No node has a supported architecture"):
        assert message in output
    assert output.count("FAILED!") == 1
    assert facts is None
    assert reached_the_api(cluster), "empty request log"
    assert writes(cluster, dry_run=None) == []


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_ready_cluster_publishes_facts(cluster, tmp_path, check):
    rc, output, facts = run_role(cluster, tmp_path, check=check)
    assert rc == 0, output
    assert "changed=0" in output
    assert facts == {"domain": cluster.config.cluster_domain,
                     "api_url": cluster.url,
                     "openshift": cluster.config.openshift_version,
                     "kubernetes": cluster.kubernetes_version}
    assert reached_the_api(cluster), "empty request log"
    assert writes(cluster, dry_run=None) == []
    gets = {e.path for e in cluster.requests.entries if e.method == "GET"}
    # OLM is checked by listing the Subscriptions (which also tells the packages OLM has resolved);
    # the discovery documents are read only when that list is not served.
    assert "/apis/operators.coreos.com/v1alpha1/subscriptions" in gets
    assert not {"/apis/operators.coreos.com/v1alpha1", "/apis/operators.coreos.com/v1"} & gets
    assert not [p for p in gets if p.startswith("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/")
                and p.endswith(".operators.coreos.com")]
