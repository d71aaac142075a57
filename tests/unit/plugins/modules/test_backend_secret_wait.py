"""backend_secret waiting for the service account token: kubernetes.core's option names, polling on waiter."""

import base64

import pytest

from ansible_collections.parodos.orchestrator.plugins.module_utils import backend_secret as bs
from ansible_collections.parodos.orchestrator.plugins.modules import backend_secret
from tests.unit.fakes import Clock, FakeApi

TOKEN = "/api/v1/namespaces/orchestrator/secrets/orchestrator-token"
ARGS = {"namespace": "rhdh", "cluster_token_secret": {"namespace": "orchestrator", "name": "orchestrator-token"}}


def token_secret(value=""):
    data = {"token": base64.b64encode(value.encode()).decode()} if value else {}
    return {"type": bs.TOKEN_TYPE, "metadata": {"name": "orchestrator-token"}, "data": data}


def test_looks_every_interval_until_the_deadline():
    clock = Clock()
    api = FakeApi({TOKEN: token_secret()}, clock=clock)
    with pytest.raises(bs.TokenError) as exc:
        bs.read_token(api, "orchestrator", "orchestrator-token", 5, sleep=clock.sleep, clock=clock, interval=2)
    assert str(exc.value).endswith("after 5 s") and "it has no data.token yet" in str(exc.value)
    assert clock.slept == [2, 2, 1] and [r.at for r in api.requests] == [0, 2, 4, 5]


def test_a_token_filled_meanwhile_is_read():
    clock = Clock()
    api = FakeApi({TOKEN: token_secret()}, clock=clock)
    clock.at(3, lambda: api.objects.__setitem__(TOKEN, token_secret("the-token")))
    assert bs.read_token(api, "orchestrator", "orchestrator-token", 60, sleep=clock.sleep, clock=clock,
                         interval=1.5) == "the-token"
    assert clock.now == 3.0


def test_wait_timeout_and_its_alias(run_module):
    for args in ({"wait_timeout": 0, "wait_sleep": 0.5}, {"token_timeout": 0}):
        api = FakeApi({TOKEN: token_secret()}, namespaces=("rhdh",))
        code, result = run_module(backend_secret, dict(ARGS, **args), api)
        assert code == 1 and "orchestrator-token: it has no data.token yet" in result["msg"]
        assert result["msg"].endswith("after 0 s")
        assert api.writes() == []
    code, result = run_module(backend_secret, dict(ARGS, wait_timeout=-1, wait_sleep=0))
    assert code == 1
    assert "timeout must not be negative" in result["msg"] and "sleep must be greater than 0" in result["msg"]
