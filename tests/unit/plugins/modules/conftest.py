"""Running a module's main() as Ansible does: arguments in, JSON out."""

import contextlib
import json

import pytest

from ansible.module_utils import basic

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


@pytest.fixture(autouse=True)
def no_auth_env(monkeypatch):
    """No kubeconfig or K8S_AUTH_* setting of the machine reaches a module."""
    for name in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)


def _must_not_connect(module):
    raise AssertionError("the module must not connect")


class ModuleRunner:
    """Calls ``module.main()`` with arguments; ``out`` is the last raw output."""

    def __init__(self, monkeypatch, capsys):
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.out = ""

    def __call__(self, module, args, api=None, check=False, diff=False, connect=None):
        """Return (exit code, result dict).

        The module's connection is ``api`` when given, else what ``connect(module)``
        returns; with neither, connecting fails the test.
        """
        # imported here, not when this file loads: pytest loads it before its plugins are
        # configured (pytest-ansible installs the collection loader then) when the tests of
        # this directory are named on the command line
        from ansible_collections.parodos.orchestrator.plugins.module_utils import k8s

        if api is not None:
            def connect(ansible_module, timeout=None):
                return api, None
        self.monkeypatch.setattr(k8s, "connect", connect or _must_not_connect)
        args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args), pytest.raises(SystemExit) as exc:
            module.main()
        self.out = self.capsys.readouterr().out
        return exc.value.code, json.loads(self.out)


@pytest.fixture
def run_module(monkeypatch, capsys):
    return ModuleRunner(monkeypatch, capsys)
