"""Readiness predicates, paths and messages."""

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import readiness as rd


def deployment(replicas=1, generation=2, observed=2, available="True", status_replicas=None, available_n=None,
               unavailable=None):
    status = {"observedGeneration": observed,
              "conditions": [{"type": "Available", "status": available, "reason": "MinimumReplicasAvailable",
                              "message": "Deployment has minimum availability."}]}
    status_replicas = replicas if status_replicas is None else status_replicas
    available_n = replicas if available_n is None else available_n
    for key, value in (("replicas", status_replicas), ("availableReplicas", available_n),
                       ("updatedReplicas", status_replicas), ("unavailableReplicas", unavailable)):
        if value:
            status[key] = value
    return {"metadata": {"generation": generation}, "spec": {"replicas": replicas}, "status": status}


DEP = {"api_version": "apps/v1", "kind": "Deployment", "name": "app", "namespace": "ns", "component": "App",
       "condition": None}


def test_normalize_fills_defaults_and_checks_kinds():
    items, errors = rd.normalize([
        {"api_version": "apps/v1", "kind": "Deployment", "name": "app", "namespace": "ns"},
        {"api_version": "sonataflow.org/v1alpha08", "kind": "SonataFlowClusterPlatform", "name": "cp",
         "condition": {"type": "Succeed", "status": None}},
        {"api_version": "operator.knative.dev/v1beta1", "kind": "KnativeServing", "name": "ks",
         "component": "Knative Serving"},
        {"api_version": "v1", "kind": "Pod", "name": ""},
        {"api_version": "v1", "kind": "Pod", "name": "p", "condition": {"type": ""}},
        {"api_version": "example.com/v1", "kind": "Widget", "name": "w", "component": "Widget"},
    ])
    assert [i["component"] for i in items] == ["Deployment app", "SonataFlowClusterPlatform cp", "Knative Serving"]
    assert items[0]["condition"] is None and items[0]["namespace"] == "ns"
    assert items[1]["condition"] == {"type": "Succeed", "status": "True"} and items[1]["namespace"] == ""
    # the failure conditions of a known kind come with its condition
    assert items[1]["failed"] == (("Succeed", "False", "Failure"), ("Succeed", "False", "Duplicated"))
    # a known custom resource needs no condition: its rule gives one
    assert items[2]["condition"] == {"type": "Ready", "status": "True"}
    assert errors == [
        "resources[3]: name must be set",
        "resources[4]: condition.type must be set",
        "resources[5] (Widget): kind Widget has no default readiness check: set condition.type",
    ]
    assert rd.normalize([]) == ([], ["resources must list at least one resource"])


@pytest.mark.parametrize("kind,conditions,state", [
    ("SonataFlowPlatform", [{"type": "Succeed", "status": "False", "reason": "Failure", "message": "no secret"}],
     rd.FAILED),
    ("SonataFlowPlatform", [{"type": "Succeed", "status": "False", "reason": "Creating"}], rd.WAITING),
    ("Backstage", [{"type": "Deployed", "status": "False", "reason": "DeployFailed", "message": "x"}], rd.FAILED),
    ("Backstage", [{"type": "Deployed", "status": "False", "reason": "DeployInProgress"}], rd.WAITING),
    ("Backstage", [{"type": "Deployed", "status": "True", "reason": "Deployed"}], rd.READY),
])
def test_a_final_failure_condition_fails_at_once(kind, conditions, state):
    group = {"SonataFlowPlatform": "sonataflow.org/v1alpha08", "Backstage": "rhdh.redhat.com/v1alpha1"}[kind]
    [item], errors = rd.normalize([{"api_version": group, "kind": kind, "name": "x", "namespace": "ns"}])
    assert errors == []
    obj = {"metadata": {"generation": 2}, "status": {"observedGeneration": 2, "conditions": conditions}}
    assert rd.evaluate(item, obj)[0] == state
    # the same condition seen for an older generation is not final: the change may fix it
    stale = {"metadata": {"generation": 3}, "status": {"observedGeneration": 2, "conditions": conditions}}
    assert rd.evaluate(item, stale)[0] == rd.WAITING


def test_deployment_past_its_progress_deadline_fails():
    obj = {"metadata": {"generation": 1}, "spec": {"replicas": 1},
           "status": {"observedGeneration": 1, "replicas": 1, "unavailableReplicas": 1, "conditions": [
               {"type": "Available", "status": "False"},
               {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}}
    state, text = rd.deployment_state(obj)
    assert state == rd.FAILED and "ProgressDeadlineExceeded" in text


def test_builtin_kind_of_another_group_needs_a_condition():
    items, errors = rd.normalize([{"api_version": "example.com/v1", "kind": "Deployment", "name": "x"}])
    assert items == [] and "no default readiness check" in errors[0]


def test_deployment_ready():
    assert rd.evaluate(DEP, deployment()) == (
        rd.READY, "Available=True (MinimumReplicasAvailable: Deployment has minimum availability.); "
                  "replicas 1/1 available, 1 updated, 0 unavailable")
    assert rd.evaluate(DEP, deployment(replicas=0))[0] == rd.READY


@pytest.mark.parametrize("obj", [
    deployment(observed=1),  # status of an older generation
    deployment(available="False"),
    deployment(replicas=2, available_n=1),
    deployment(replicas=2, status_replicas=3, available_n=2, unavailable=1),  # rolling update
    deployment(unavailable=1),
    {"metadata": {"generation": 1}, "spec": {"replicas": 1}},  # no status yet
])
def test_deployment_not_ready(obj):
    assert rd.evaluate(DEP, obj)[0] == rd.WAITING


def test_deployment_texts():
    assert rd.evaluate(DEP, deployment(observed=1))[1].startswith(
        "status is for generation 1, object is at generation 2; Available=True")
    assert rd.evaluate(DEP, None) == (rd.WAITING, "not found")
    bare = rd.evaluate(DEP, {"metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {
        "observedGeneration": 1}})
    assert bare == (rd.WAITING, "no Available condition yet; replicas 0/1 available, 0 updated, 0 unavailable")


STS = dict(DEP, kind="StatefulSet")


def statefulset(ready=1, replicas=1, current="r1", update="r1", generation=1, observed=1):
    status = {"observedGeneration": observed, "replicas": replicas, "readyReplicas": ready,
              "currentReplicas": replicas, "currentRevision": current, "updateRevision": update}
    return {"metadata": {"generation": generation}, "spec": {"replicas": replicas}, "status": status}


def test_statefulset():
    assert rd.evaluate(STS, statefulset()) == (rd.READY, "replicas 1/1 ready, 1 current")
    assert rd.evaluate(STS, statefulset(ready=0)) == (rd.WAITING, "replicas 0/1 ready, 1 current")
    assert rd.evaluate(STS, statefulset(update="r2")) == (
        rd.WAITING, "replicas 1/1 ready, 1 current; revision r2 rolling out (current r1)")
    assert rd.evaluate(STS, statefulset(generation=2))[0] == rd.WAITING
    no_revision = statefulset(update=None, current=None)
    assert rd.evaluate(STS, no_revision)[0] == rd.READY


JOB = dict(DEP, kind="Job", api_version="batch/v1")


def test_job():
    running = {"status": {"active": 1}}
    assert rd.evaluate(JOB, running) == (rd.WAITING, "no Complete condition yet; 1 active, 0 succeeded, 0 failed")
    done = {"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}}
    assert rd.evaluate(JOB, done)[0] == rd.READY
    failed = {"status": {"failed": 1, "conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
         "message": "Job has reached the specified backoff limit"}]}}
    assert rd.evaluate(JOB, failed) == (
        rd.FAILED, "Failed=True (BackoffLimitExceeded: Job has reached the specified backoff limit)")


def test_argocd_instance_is_ready_in_phase_available():
    items, errors = rd.normalize([{"api_version": "argoproj.io/v1beta1", "kind": "ArgoCD", "name": "argocd",
                                   "namespace": "orchestrator-gitops", "component": "ArgoCD instance"}])
    assert errors == [] and items[0]["condition"] is None
    item = items[0]
    assert rd.evaluate(item, {"status": {}}) == (rd.WAITING, "phase none yet")
    assert rd.evaluate(item, {"status": {"phase": "Pending", "server": "Starting"}}) == (
        rd.WAITING, "phase Pending, server Starting")
    assert rd.evaluate(item, {"status": {"phase": "Available", "server": "Running"}})[0] == rd.READY
    assert rd.line(item, "phase Pending") == ("ArgoCD instance: ArgoCD orchestrator-gitops/argocd: waiting for "
                                              "ArgoCD status.phase Available; last status: phase Pending")


KS = {"api_version": "operator.knative.dev/v1beta1", "kind": "KnativeServing", "name": "knative-serving",
      "namespace": "knative-serving", "component": "Knative Serving", "condition": {"type": "Ready", "status": "True"}}


def cr(status, reason=None, message=None, generation=1, observed=1, cond_observed=None):
    cond = {"type": "Ready", "status": status}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    if cond_observed is not None:
        cond["observedGeneration"] = cond_observed
    return {"metadata": {"generation": generation},
            "status": {"observedGeneration": observed, "conditions": [{"type": "Other", "status": "False"}, cond]}}


def test_condition():
    assert rd.evaluate(KS, cr("True")) == (rd.READY, "Ready=True")
    assert rd.evaluate(KS, cr("False", "NotReady", "Waiting on deployments: webhook")) == (
        rd.WAITING, "Ready=False (NotReady: Waiting on deployments: webhook)")
    assert rd.evaluate(KS, {"status": {}}) == (rd.WAITING, "no Ready condition yet")
    assert rd.evaluate(KS, {}) == (rd.WAITING, "no Ready condition yet")
    assert rd.evaluate(dict(KS, condition={"type": "Ready", "status": "False"}), cr("False"))[0] == rd.READY


def test_condition_of_an_older_generation_does_not_count():
    assert rd.evaluate(KS, cr("True", generation=2, observed=1)) == (
        rd.WAITING, "Ready=True; status is for generation 1, object is at generation 2")
    # metav1.Condition carries its own observedGeneration, which wins
    assert rd.evaluate(KS, cr("True", generation=2, observed=1, cond_observed=2))[0] == rd.READY
    assert rd.evaluate(KS, cr("True", generation=2, observed=2, cond_observed=1))[0] == rd.WAITING


def test_conditions_summary():
    obj = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "R", "message": "",
                                      "lastTransitionTime": "t"}, "junk"]}}
    assert rd.conditions_summary(obj) == [{"type": "Ready", "status": "False", "reason": "R"}]
    assert rd.conditions_summary(None) == []


def test_messages():
    cp = {"kind": "SonataFlowClusterPlatform", "name": "cluster-platform", "namespace": "",
          "component": "Cluster platform", "condition": {"type": "Succeed", "status": "True"}}
    text = rd.timeout_message(30, [(KS, "Ready=False (NotReady: x)"), (cp, "not found")], 3)
    assert text.splitlines() == [
        "Timed out after 30s: 2 of 3 resource(s) not ready:",
        "- Knative Serving: KnativeServing knative-serving/knative-serving: waiting for condition Ready=True; "
        "last status: Ready=False (NotReady: x)",
        "- Cluster platform: SonataFlowClusterPlatform cluster-platform: waiting for condition Succeed=True; "
        "last status: not found",
    ]
    assert rd.failure_message(dict(JOB, component="Migration"), "Failed=True") == \
        "Migration: Job ns/app failed: Failed=True"
    assert rd.waited_for(DEP) == "Deployment Available with all replicas available"
    assert rd.waited_for(STS) == "StatefulSet with all replicas ready and current"
    assert rd.waited_for(JOB) == "Job Complete"
