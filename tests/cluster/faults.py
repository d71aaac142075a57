"""Fault injection on API requests, shared by the test cluster's API server (server.py) and the
fault proxy in front of any API server (proxy.py).

``FaultDrawer`` decides, request by request, whether to drop the connection, answer with an
error code or let the request through, from one ``Faults`` setting and a seeded random
generator, so that a run is repeatable. ``fault_error`` and ``fault_response`` give the answer
for an error code: the Status a real API server sends for it, with Retry-After for 429 and 503.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import replace

from . import errors
from .config import Faults
from .errors import ApiError

DROP = "drop"


class FaultDrawer:
    """Draws the fault of each request from a ``Faults`` setting (thread-safe)."""

    def __init__(self, faults: Faults | None = None):
        self._lock = threading.Lock()
        self.set(faults or Faults())

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def set(self, faults: Faults) -> None:
        """Use ``faults`` from now on; the random generator restarts from its seed."""
        with self._lock:
            self._faults = replace(faults)
            self._rand = random.Random(faults.seed)

    def draw(self, method: str) -> str | int | None:
        """None, ``"drop"`` or an HTTP error code for a request with this method.

        Requests whose method is not in a non-empty ``methods`` are not affected at all. Others
        wait ``latency`` seconds, then one draw decides: below ``drop_rate`` the connection is
        dropped, below ``drop_rate + error_rate`` the answer is one of ``error_codes``.
        """
        with self._lock:
            f = self._faults
            if f.methods and method not in f.methods:
                return None
            delay = f.latency or 0
            fault: str | int | None = None
            if f.drop_rate or f.error_rate:
                r = self._rand.random()
                if r < f.drop_rate:
                    fault = DROP
                elif r < f.drop_rate + f.error_rate and f.error_codes:
                    fault = self._rand.choice(list(f.error_codes))
        if delay:
            time.sleep(delay)
        return fault


def fault_error(code: int) -> ApiError:
    """The error an injected fault with this HTTP code answers with."""
    if code == 429:
        return errors.too_many_requests(1)
    if code == 503:
        return errors.service_unavailable(retry_after=1)
    if code == 500:
        return errors.internal_error("injected fault")
    if code == 504:
        return ApiError(504, "Timeout", "Timeout: request did not complete within the allowed duration",
                        {"retryAfterSeconds": 1})
    return ApiError(code, "", f"injected fault {code}")


def error_response(error: ApiError) -> tuple[int, dict[str, str], bytes]:
    """(HTTP status, headers, body) of an error answer: its Status as compact JSON."""
    body = json.dumps(error.status(), separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Cache-Control": "no-cache, private", **error.headers}
    return error.code or 500, headers, body


def fault_response(code: int) -> tuple[int, dict[str, str], bytes]:
    """(HTTP status, headers, body) of the answer to a request drawn to fail with ``code``."""
    return error_response(fault_error(code))
