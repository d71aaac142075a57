"""A fault-injecting, request-recording HTTPS reverse proxy for any Kubernetes API server.

``FaultProxy`` serves TLS on its own port and forwards every request unchanged (method, path,
query, headers including Authorization, body) to an upstream https API server it verifies with
a given CA. Before forwarding it applies the ``Faults`` setting the same way the stand-in API
server does (faults.py): added latency, dropped connections and error answers, the latter
without the upstream ever seeing the request. Every request is recorded in a ``RequestLog``
with the status finally sent (0 for a dropped connection).

Answers of unknown length (watches, chunked bodies) are relayed piece by piece as they arrive,
so that ``kubectl get -w``, ``kubectl wait`` and client watches work through the proxy. Each
client connection gets its own thread and its own upstream connection. Upgrades (exec, attach,
port-forward) are not supported.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .config import Faults
from .errors import ApiError
from .faults import DROP, FaultDrawer, error_response, fault_response
from .server import RequestEntry, RequestLog, query_bool

# Headers that belong to one connection, not to the request or answer (RFC 9110, 7.6.1), and those
# the proxy sets itself.
HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade", "expect", "host", "content-length"))
# Methods a request can be sent again with when a reused upstream connection turns out closed.
IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE"))
HANDSHAKE_TIMEOUT = 10.0
CHUNK = 64 * 1024
STOP_TIMEOUT = 5.0


def _shutdown(sock: socket.socket | None) -> None:
    """Shut a (TLS) socket down at the TCP level, waking up any thread blocked on it."""
    if sock is None:
        return
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


class FaultProxy:
    """HTTPS reverse proxy in front of ``upstream`` (an https URL) with fault injection and a request log."""

    def __init__(self, upstream: str, *, upstream_ca: str, certfile: str, keyfile: str, faults: Faults,
                 log: RequestLog, host: str = "127.0.0.1", port: int = 0):
        split = urlsplit(upstream)
        if split.scheme != "https" or not split.hostname:
            raise ValueError(f"upstream must be an https URL, not {upstream!r}")
        self.upstream = upstream
        self.log = log
        self._upstream_host = split.hostname
        self._upstream_port = split.port or 443
        self._upstream_netloc = split.netloc
        self._upstream_prefix = split.path.rstrip("/")
        self._upstream_context = ssl.create_default_context(cafile=upstream_ca)
        self._upstream_context.set_alpn_protocols(["http/1.1"])
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(certfile, keyfile)
        self._context.set_alpn_protocols(["http/1.1"])
        self._drawer = FaultDrawer(faults)
        self._lock = threading.Lock()
        self._closing = False
        self._clients: dict[threading.Thread, socket.socket] = {}
        # upstream connections, each with the socket its last request went out on (a response that ends
        # with the connection takes the socket over from it)
        self._upstreams: dict[http.client.HTTPSConnection, socket.socket | None] = {}
        handler = type("ProxyHandler", (_Handler,), {"proxy": self})
        self._httpd = _Server(self, (host, port), handler)
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.url = f"https://[{host}]:{self.port}" if ":" in host else f"https://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FaultProxy":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listener and every open connection (long watches too), then wait for their threads."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(STOP_TIMEOUT)
            self._thread = None
        self._httpd.server_close()
        deadline = time.monotonic() + STOP_TIMEOUT
        while True:
            with self._lock:
                self._closing = True
                threads = [t for t in self._clients if t.is_alive()]
                sockets = [*self._clients.values(), *self._upstreams.values(), *(c.sock for c in self._upstreams)]
            if not threads or time.monotonic() > deadline:
                break
            for sock in sockets:
                _shutdown(sock)
            for thread in threads:
                thread.join(0.05)

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def set_faults(self, faults: Faults) -> None:
        """Change fault injection from the next request on (``Faults()`` turns it off)."""
        self._drawer.set(faults)

    @property
    def faults(self) -> Faults:
        return self._drawer.faults

    # ------------------------------------------------------------------ connection bookkeeping

    def _track(self, thread: threading.Thread, sock: socket.socket) -> bool:
        with self._lock:
            if self._closing:
                return False
            self._clients[thread] = sock
            return True

    def _swap(self, sock: socket.socket) -> bool:
        """The current thread's client socket is now ``sock`` (after the TLS handshake)."""
        with self._lock:
            self._clients[threading.current_thread()] = sock
            return not self._closing

    def _untrack(self) -> None:
        with self._lock:
            self._clients.pop(threading.current_thread(), None)

    def _new_upstream(self) -> http.client.HTTPSConnection:
        conn = http.client.HTTPSConnection(self._upstream_host, self._upstream_port, context=self._upstream_context)
        with self._lock:
            if self._closing:
                raise ConnectionError("the proxy is stopping")
            self._upstreams[conn] = None
        return conn

    def _sent_on(self, conn: http.client.HTTPSConnection) -> socket.socket | None:
        """Note (and return) the socket a request just went out on."""
        with self._lock:
            self._upstreams[conn] = conn.sock
        return conn.sock

    def _drop_upstream(self, conn: http.client.HTTPSConnection) -> None:
        conn.close()
        with self._lock:
            self._upstreams.pop(conn, None)


class _Server(ThreadingHTTPServer):
    """One daemon thread per client connection; the TLS handshake happens in that thread."""

    daemon_threads = True

    def __init__(self, proxy: FaultProxy, address, handler):
        self.proxy = proxy
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                                  name="fault-proxy-connection", daemon=True)
        if not self.proxy._track(thread, request):
            self.shutdown_request(request)
            return
        thread.start()

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.proxy._untrack()

    def finish_request(self, request, client_address):
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            tls = self.proxy._context.wrap_socket(request, server_side=True)
        except (OSError, ValueError):
            return
        try:
            tls.settimeout(None)
            if self.proxy._swap(tls):
                self.RequestHandlerClass(tls, client_address, self)
        finally:
            _shutdown(tls)
            tls.close()

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (OSError, ValueError, http.client.HTTPException)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    proxy: FaultProxy

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def __getattr__(self, name: str):
        # do_GET, do_POST, ...: every method is forwarded
        if name.startswith("do_"):
            return self._proxy_request
        raise AttributeError(name)

    def setup(self):
        super().setup()
        self.upstream: http.client.HTTPSConnection | None = None
        self.upstream_sock: socket.socket | None = None

    def finish(self):
        try:
            super().finish()
        finally:
            if self.upstream is not None:
                self.proxy._drop_upstream(self.upstream)
                self.upstream = None

    # ------------------------------------------------------------------ one request

    def _proxy_request(self):
        split = urlsplit(self.path)
        self._recorded = False
        self._entry = (self.command, split.path, split.query, self.headers.get("Content-Type", ""),
                       self.headers.get("User-Agent", ""))
        try:
            try:
                body, has_body = self._read_body()
            except (OSError, ValueError):
                self._record(0)
                self.close_connection = True
                return
            fault = self.proxy._drawer.draw(self.command)
            if fault == DROP:
                self._record(0)
                self._drop()
                return
            if fault is not None:
                self._answer(*fault_response(int(fault)))
                return
            watch = query_bool({k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
                               .get("watch"))
            self._forward(body, has_body, watch)
        except (OSError, ValueError, http.client.HTTPException):
            self.close_connection = True
        finally:
            self._record(0)

    def _record(self, status: int) -> None:
        """Log the request once, before its answer leaves."""
        if self._recorded:
            return
        self._recorded = True
        method, path, query, content_type, user_agent = self._entry
        self.proxy.log.add(RequestEntry(method, path, query, content_type, status, user_agent))

    def _read_body(self) -> tuple[bytes, bool]:
        """The request body (de-chunked) and whether the request had one at all."""
        length = self.headers.get("Content-Length")
        if length is not None:
            size = int(length)
            if size < 0:
                raise ValueError(f"Content-Length {length}")
            return self.rfile.read(size), True
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return data, True
                data += self.rfile.read(size)
                self.rfile.readline()
        return b"", False

    def _drop(self) -> None:
        self.close_connection = True
        _shutdown(self.connection)

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self._record(status)
        self.send_response_only(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _bad_gateway(self, exc: Exception) -> None:
        self.close_connection = True
        self._answer(*error_response(ApiError(502, "", f"fault proxy: no answer from {self.proxy.upstream}: {exc}")))

    # ------------------------------------------------------------------ forwarding

    def _connection(self) -> tuple[http.client.HTTPSConnection, bool]:
        """This client's upstream connection and whether it is an open one being reused."""
        conn = self.upstream
        if conn is not None and conn.sock is not None:
            try:
                idle_closed = bool(select.select([conn.sock], [], [], 0)[0])  # EOF (or junk) while idle
            except (OSError, ValueError):
                idle_closed = True
            if not idle_closed:
                return conn, True
            conn.close()
        if conn is None:
            conn = self.upstream = self.proxy._new_upstream()
        return conn, False

    def _headers(self) -> list[tuple[str, str]]:
        named = {t.strip().lower() for v in self.headers.get_all("Connection", []) for t in v.split(",")}
        return [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() not in named]

    def _send_upstream(self, body: bytes, has_body: bool) -> http.client.HTTPResponse | None:
        headers = self._headers()
        target = self.proxy._upstream_prefix + self.path
        for attempt in (1, 2):
            try:
                conn, reused = self._connection()
            except OSError as exc:
                self._bad_gateway(exc)
                return None
            try:
                conn.putrequest(self.command, target, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", self.proxy._upstream_netloc)
                for key, value in headers:
                    conn.putheader(key, value)
                if has_body or body:
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
                self.upstream_sock = self.proxy._sent_on(conn)
                return conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if attempt == 1 and reused and self.command in IDEMPOTENT:
                    continue
                self._bad_gateway(exc)
                return None
        return None

    def _forward(self, body: bytes, has_body: bool, watch: bool) -> None:
        resp = self._send_upstream(body, has_body)
        if resp is None:
            return
        conn = self.upstream
        status = resp.status
        headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        length = resp.getheader("Content-Length")
        no_body = self.command == "HEAD" or 100 <= status < 200 or status in (204, 304)
        if no_body:
            resp.read()
            self._send_head(resp, headers + ([("Content-Length", length)] if length is not None else []))
            return
        if not (watch or resp.chunked or length is None):
            try:
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self._bad_gateway(exc)
                return
            self._send_head(resp, headers + [("Content-Length", str(len(data)))])
            self.wfile.write(data)
            return
        # streamed: relayed as it arrives, until the upstream ends it
        chunked = length is None and self.request_version != "HTTP/1.0"
        if length is not None:
            headers.append(("Content-Length", length))
        elif chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            self.close_connection = True
        self._send_head(resp, headers)
        self._relay(resp, conn, chunked)

    def _send_head(self, resp: http.client.HTTPResponse, headers: list[tuple[str, str]]) -> None:
        self._record(resp.status)
        self.send_response_only(resp.status, resp.reason)
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()

    def _relay(self, resp: http.client.HTTPResponse, conn: http.client.HTTPSConnection, chunked: bool) -> None:
        done = threading.Event()
        gone = threading.Event()
        monitor = threading.Thread(target=self._watch_client, args=(self.upstream_sock, done, gone),
                                   name="fault-proxy-stream", daemon=True)
        monitor.start()
        try:
            while True:
                data = resp.read1(CHUNK)
                if not data:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            if gone.is_set():
                raise ConnectionError("the client went away")
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (OSError, ValueError, http.client.HTTPException):
            # the client went away (or the upstream broke off): neither connection can go on
            self.close_connection = True
            conn.close()
        finally:
            done.set()
            monitor.join()

    def _watch_client(self, upstream: socket.socket | None, done: threading.Event, gone: threading.Event) -> None:
        """While an answer streams, end it once the client closes its connection (or sends anything)."""
        while not done.is_set():
            try:
                readable = select.select([self.connection], [], [], 0.1)[0]
            except (OSError, ValueError):
                readable = True
            if readable and not done.is_set():
                gone.set()
                _shutdown(upstream)
                return
