"""Certificates and keys of one test cluster: a CA made for it, the API server's serving certificate,
the service-account signing key pair and the static token file.

Everything is written as PEM files into one folder; nothing is reused between clusters.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class Pki:
    """Paths of the files ``make_pki`` wrote."""

    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    sa_key: Path
    sa_pub: Path

    def ca_pem(self) -> bytes:
        return self.ca_cert.read_bytes()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def make_pki(folder: Path, hosts=("127.0.0.1", "localhost")) -> Pki:
    """Write a new CA, a serving certificate for ``hosts`` signed by it, and a service-account key pair."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder()
               .subject_name(_name("orchestrator-test-ca")).issuer_name(_name("orchestrator-test-ca"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + VALIDITY)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    names = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    for dns in ("kubernetes", "kubernetes.default", "kubernetes.default.svc"):
        names.append(x509.DNSName(dns))
    names.append(x509.IPAddress(ipaddress.ip_address("10.96.0.1")))
    serving_key = ec.generate_private_key(ec.SECP256R1())
    serving_cert = (x509.CertificateBuilder()
                    .subject_name(_name("kube-apiserver")).issuer_name(ca_cert.subject)
                    .public_key(serving_key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now).not_valid_after(now + VALIDITY)
                    .add_extension(x509.SubjectAlternativeName(names), critical=False)
                    .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                                   critical=False)
                    .sign(ca_key, hashes.SHA256()))
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = serialization.Encoding.PEM
    return Pki(
        ca_cert=_write(folder / "ca.crt", ca_cert.public_bytes(pem)),
        ca_key=_write(folder / "ca.key", _pem_key(ca_key)),
        serving_cert=_write(folder / "serving.crt", serving_cert.public_bytes(pem)),
        serving_key=_write(folder / "serving.key", _pem_key(serving_key)),
        sa_key=_write(folder / "sa.key", _pem_key(sa_key)),
        sa_pub=_write(folder / "sa.pub", sa_key.public_key().public_bytes(
            pem, serialization.PublicFormat.SubjectPublicKeyInfo)),
    )


class HttpsServer:
    """A threaded HTTPS server on 127.0.0.1 with a certificate of its own, for endpoints the API server
    calls (an aggregated API, the kubelet); the API server does not check the certificate.
    ``answer(path)`` returns (status code, content type, body) for a GET."""

    def __init__(self, answer, name: str):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                code, content_type, data = answer(self.path)
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._folder = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        pki = make_pki(self._folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.serving_cert, pki.serving_key)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> "HttpsServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self._folder, ignore_errors=True)
