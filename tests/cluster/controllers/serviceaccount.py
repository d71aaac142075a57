"""ServiceAccount ``default`` and ConfigMap ``kube-root-ca.crt`` per namespace; token Secrets."""

from __future__ import annotations

import base64
import hashlib

from tests.cluster.controllers.base import Controller, is_deleting

MANAGER = "kube-controller-manager"
TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME = "kubernetes.io/service-account.name"
SA_UID = "kubernetes.io/service-account.uid"
ROOT_CA = "kube-root-ca.crt"
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
    "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
    "distributions of Kubernetes clusters.")
CA_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2Vy\n"
    "dmVyLWNhQG9yY2hlc3RyYXRvcjAeFw0yNDAxMDEwMDAwMDBaFw0zNDAxMDEwMDAw\n"
    "MDBaMCMxITAfBgNVBAMMGGszcy1zZXJ2ZXItY2FAb3JjaGVzdHJhdG9yMFkwEwYH\n"
    "-----END CERTIFICATE-----\n")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _token(namespace: str, sa: str, uid: str) -> str:
    """A JWT-shaped opaque token, stable for one ServiceAccount."""
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"orchestrator-test"}').decode().rstrip("=")
    claims = ('{"iss":"kubernetes/serviceaccount","kubernetes.io/serviceaccount/namespace":"%s",'
              '"kubernetes.io/serviceaccount/service-account.name":"%s",'
              '"kubernetes.io/serviceaccount/service-account.uid":"%s"}' % (namespace, sa, uid))
    body = base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")
    sig = base64.urlsafe_b64encode(hashlib.sha256(f"{namespace}/{sa}/{uid}".encode()).digest()).decode()
    return f"{header}.{body}.{sig.rstrip('=')}"


class ServiceAccountController(Controller):
    name = "serviceaccount"

    def reconcile(self, now: float) -> None:
        for ns in self.store.list("v1", "Namespace"):
            if is_deleting(ns) or (ns.get("status") or {}).get("phase", "Active") != "Active":
                continue
            name = ns["metadata"]["name"]
            self._default_sa(name)
            self._root_ca(name)
        for secret in self.store.list("v1", "Secret"):
            if secret.get("type") == TOKEN_TYPE and not is_deleting(secret):
                self._token_secret(secret)

    def _default_sa(self, ns: str) -> None:
        if self.store.try_get("v1", "ServiceAccount", "default", ns) is None:
            self._create({"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": {"name": "default", "namespace": ns}})

    def _root_ca(self, ns: str) -> None:
        want_data = {"ca.crt": CA_PEM}
        want_ann = {"kubernetes.io/description": ROOT_CA_DESCRIPTION}
        cm = self.store.try_get("v1", "ConfigMap", ROOT_CA, ns)
        if cm is None:
            self._create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": ROOT_CA, "namespace": ns, "annotations": want_ann},
                          "data": want_data})
            return
        ann = cm["metadata"].get("annotations") or {}
        if cm.get("data") != want_data or any(ann.get(k) != v for k, v in want_ann.items()):
            cm["data"] = want_data
            cm["metadata"]["annotations"] = {**ann, **want_ann}
            self._update(cm)

    def _token_secret(self, secret: dict) -> None:
        meta = secret["metadata"]
        ann = meta.get("annotations") or {}
        sa_name = ann.get(SA_NAME)
        if not sa_name:
            return
        sa = self.store.try_get("v1", "ServiceAccount", sa_name, meta["namespace"])
        if sa is None or (ann.get(SA_UID) and ann[SA_UID] != sa["metadata"]["uid"]):
            # the token controller removes tokens of missing ServiceAccounts
            self._delete(secret)
            return
        uid = sa["metadata"]["uid"]
        data = dict(secret.get("data") or {})
        want = {"token": _b64(_token(meta["namespace"], sa_name, uid)), "ca.crt": _b64(CA_PEM),
                "namespace": _b64(meta["namespace"])}
        if ann.get(SA_UID) == uid and all(data.get(k) for k in want):
            return
        for key, value in want.items():
            if not data.get(key):
                data[key] = value
        secret["data"] = data
        meta["annotations"] = {**ann, SA_UID: uid}
        self._update(secret)

    # -- store writes that tolerate races with clients -------------------------
    def _create(self, obj: dict) -> None:
        try:
            self.store.create(obj, manager=MANAGER)
        except Exception as exc:
            if getattr(exc, "code", None) not in (403, 404, 409):
                raise

    def _update(self, obj: dict) -> None:
        try:
            self.store.update(obj, manager=MANAGER)
        except Exception as exc:
            if getattr(exc, "code", None) not in (404, 409):
                raise

    def _delete(self, obj: dict) -> None:
        try:
            self.store.delete(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"])
        except Exception as exc:
            if getattr(exc, "code", None) != 404:
                raise
