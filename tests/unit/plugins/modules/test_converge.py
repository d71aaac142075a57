"""The converge module: several modules' work in one task, every option checked first, waits last."""

from ansible.module_utils import basic
from ansible_collections.parodos.orchestrator.plugins.modules import converge

from tests.unit.fakes import real_api
from tests.unit.plugins.module_utils.test_apply import OURS, b64, cluster, config_map, namespace, secret

DEPLOYMENT_PATH = "/apis/apps/v1/namespaces/demo/deployments/web"
CM_PATH = "/api/v1/namespaces/demo/configmaps/settings"


def web():
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "demo"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}}


def becomes_available(api):
    obj = api.objects.get(DEPLOYMENT_PATH)
    if obj is not None:
        obj["metadata"]["generation"] = 1
        obj["status"] = {"observedGeneration": 1, "replicas": 1,
                         "availableReplicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
                         "conditions": [{"type": "Available", "status": "True"}]}


def step(step_id, module, **options):
    return {"id": step_id, "module": module, "options": options}


def test_every_step_is_checked_before_anything_is_written(run_module, monkeypatch):
    api = cluster(namespace())
    steps = [step("settings", "apply", definition=config_map(), labels=OURS),
             step("broken", "apply", labels=OURS),
             {"id": "settings", "module": "wait_ready", "options": {"resources": []}, "unless_settled": ["later"]}]
    code, result = run_module(converge, {"steps": steps}, real_api(api, monkeypatch))
    assert code == 1 and result["changed"] is False and api.writes() == []
    assert result["msg"].startswith("Invalid steps: steps[1] (broken): missing required arguments: definition")
    assert "steps[2] (settings): the id settings is used by an earlier step" in result["msg"]
    assert "steps[2] (settings): unless_settled names no earlier step: later" in result["msg"]


def test_a_step_names_one_of_the_collections_modules(run_module):
    code, result = run_module(converge, {"steps": [{"id": "odd", "module": "kubectl"}]})
    assert code == 1 and "value of module must be one of: apply, backend_secret" in result["msg"]


def test_a_step_cannot_carry_its_own_connection(run_module):
    code, result = run_module(converge, {"steps": [step("s", "apply", definition=config_map(), host="https://x")]})
    assert code == 1
    assert result["msg"] == "Invalid steps: steps[0] (s): host are the task's connection options, not a step's"


def test_steps_run_in_order_and_waits_after_every_write(run_module, monkeypatch):
    api = cluster(namespace())
    api.on_request(becomes_available, method="GET", path=DEPLOYMENT_PATH)
    steps = [step("web", "apply", definition=web(), labels=OURS, wait=True, wait_sleep=1),
             step("settings", "apply", definition=config_map(), labels=OURS)]
    code, result = run_module(converge, {"steps": steps}, real_api(api, monkeypatch))
    assert code == 0, result["msg"]
    assert list(result["steps"]) == ["web", "settings"]
    assert result["steps"]["web"]["ready"] is True and result["steps"]["web"]["created"] == ["Deployment/demo/web"]
    assert result["created"] == ["Deployment/demo/web", "ConfigMap/demo/settings"]
    calls = [(r.method, r.path) for r in api.requests]
    # the ConfigMap is written before the Deployment is read again to wait for it
    written = calls.index(("POST", "/api/v1/namespaces/demo/configmaps"))
    assert calls.index(("POST", "/apis/apps/v1/namespaces/demo/deployments")) < written
    assert ("GET", DEPLOYMENT_PATH) in calls[written:]


def test_a_step_is_skipped_when_the_steps_it_names_are_settled(run_module, monkeypatch):
    api = cluster(namespace(), dict(config_map(), metadata=dict(config_map()["metadata"], labels=OURS)))
    wait = {"id": "wait", "module": "wait_ready", "unless_settled": ["settings"],
            "options": {"resources": [{"api_version": "apps/v1", "kind": "Deployment", "name": "web",
                                       "namespace": "demo"}], "wait_timeout": 1, "wait_sleep": 0.5}}
    code, result = run_module(converge, {"steps": [step("settings", "apply", definition=config_map(), labels=OURS),
                                                   wait]}, real_api(api, monkeypatch))
    assert code == 0 and result["changed"] is False
    assert result["steps"]["wait"] == {"changed": False, "skipped": True}
    assert api.writes() == []
    changed = dict(config_map({"key": "new"}))
    code, result = run_module(converge, {"steps": [step("settings", "apply", definition=changed, labels=OURS), wait]},
                              real_api(api, monkeypatch))
    assert code == 1 and result["changed"] is True and result["failed_step"] == "wait"
    assert "Deployment demo/web" in result["msg"]
    assert result["steps"]["settings"]["updated"] == ["ConfigMap/demo/settings"]


def test_the_first_failure_ends_the_run_naming_its_step(run_module, monkeypatch):
    api = cluster(namespace())
    api.fail(403, method="POST", path="/api/v1/namespaces/demo/secrets")
    steps = [step("creds", "apply", definition=secret(stringData={"password": "converge-password-1"}), labels=OURS,
                  component="Demo"),
             step("settings", "apply", definition=config_map(), labels=OURS)]
    code, result = run_module(converge, {"steps": steps}, real_api(api, monkeypatch))
    assert code == 1 and result["failed_step"] == "creds"
    assert result["msg"].startswith("Demo: ") and "403" in result["msg"]
    assert "settings" not in result["steps"]
    assert CM_PATH not in api.objects
    assert "converge-password-1" not in run_module.out
    assert result["invocation"]["module_args"]["steps"][0]["options"]["definition"]["stringData"] == {
        "password": "<redacted>"}


def test_secret_values_stay_out_of_the_result_and_the_diff(run_module, monkeypatch):
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text))
    api = cluster(namespace())
    steps = [step("backend", "backend_secret", namespace="demo", backend_secret="converge-backend-secret-value",
                  github_token="converge-github-token-value", labels=OURS),
             step("creds", "apply", definition=secret(data={"password": b64("converge-password-2")}), labels=OURS),
             step("generated", "generated_secret", name="db", namespace="demo", labels=OURS,
                  generate=[{"key": "password"}])]
    code, result = run_module(converge, {"steps": steps}, real_api(api, monkeypatch), diff=True)
    assert code == 0, result["msg"]
    assert result["steps"]["backend"]["keys"] == ["BACKEND_SECRET", "GITHUB_TOKEN"]
    generated = api.objects["/api/v1/namespaces/demo/secrets/db"]["data"]["password"]
    for value in ("converge-backend-secret-value", "converge-github-token-value", "converge-password-2",
                  b64("converge-password-2"), generated):
        assert value not in run_module.out
    assert [d["before_header"] for d in result["diff"]] == ["backend", "creds", "generated"]
    assert "diff" not in result["steps"]["creds"]


def test_check_mode_writes_nothing(run_module, monkeypatch):
    api = cluster(namespace())
    steps = [step("settings", "apply", definition=config_map(), labels=OURS),
             step("web", "apply", definition=web(), labels=OURS, wait=True)]
    code, result = run_module(converge, {"steps": steps}, real_api(api, monkeypatch), check=True)
    assert code == 0 and result["changed"] is True
    assert result["created"] == ["ConfigMap/demo/settings", "Deployment/demo/web"]
    assert CM_PATH not in api.objects and all(dry for _m, _p, dry in api.writes())


def test_a_skipped_step_is_checked_but_sends_nothing(run_module, monkeypatch):
    api = cluster(namespace())
    skipped = dict(step("settings", "apply", definition=config_map(), labels=OURS), skip=True)
    code, result = run_module(converge, {"steps": [skipped]}, real_api(api, monkeypatch))
    assert code == 0 and result["steps"]["settings"] == {"changed": False, "skipped": True}
    assert api.requests == []
    code, result = run_module(converge, {"steps": [dict(step("settings", "apply", labels=OURS), skip=True)]})
    assert code == 1 and "missing required arguments: definition" in result["msg"]
