# -*- coding: utf-8 -*-
# Copyright: parodos.orchestrator contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The one clock of the collection: polling until a deadline, and retrying
what the API server may answer differently a moment later.

Everything takes ``clock`` (monotonic seconds) and ``pause`` (sleep) so that
unit tests run on a fake clock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

# Backoff between two attempts of a failed request: doubling from FIRST_DELAY
# up to MAX_DELAY seconds, unless the server says when to come back.
FIRST_DELAY = 0.25
MAX_DELAY = 5.0


class Deadline:
    """A point in time ``timeout`` seconds from now, on ``clock``."""

    def __init__(self, timeout, clock=time.monotonic, pause=time.sleep):
        self.clock = clock
        self.pause = pause
        self.start = clock()
        self.timeout = timeout
        self.at = self.start + timeout

    def remaining(self):
        return max(0.0, self.at - self.clock())

    def elapsed(self):
        return round(self.clock() - self.start, 1)

    def passed(self):
        return self.clock() >= self.at

    def sleep(self, seconds):
        """Sleep ``seconds``, never past the deadline."""
        self.pause(max(0.0, min(seconds, self.remaining())))


def polls(deadline, sleep):
    """Yield once per look, sleeping ``sleep`` between looks; the last look is at the deadline."""
    while True:
        yield deadline.elapsed()
        if deadline.passed():
            return
        deadline.sleep(sleep)


def backoff(attempt, retry_after=None):
    """Seconds to wait before attempt ``attempt + 1`` (attempt counts from 1)."""
    if retry_after is not None and retry_after > 0:
        return float(min(retry_after, MAX_DELAY * 2))
    return min(MAX_DELAY, FIRST_DELAY * (2 ** (attempt - 1)))


def retry(call, deadline, transient):
    """``call()`` until it returns, retrying while ``transient(exc)`` says so and time is left.

    ``transient(exc)`` returns None for a final failure (raised at once) or the
    seconds the server asked to wait (0 for no advice).
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except Exception as exc:  # the caller decides what is worth another attempt
            advice = transient(exc)
            if advice is None or deadline.passed():
                raise
            deadline.sleep(backoff(attempt, advice))


def now_or_later(module, wait):
    """Run ``wait`` now, or leave it to the caller when ``module`` is a step of converge (converge.Step.defer),
    which waits after its other steps."""
    later = getattr(module, "defer", None)
    return later(wait) if later is not None else wait()
