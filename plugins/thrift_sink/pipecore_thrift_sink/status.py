"""What the sink does with a receiver's status (reference §3.12, §7.6, §7.7).

* 200, 400: success.
* 1809 (idempotent conflict): ignored — the event counts as done.
* 1808 (temporarily unavailable): retried forever, with back-off.
* 1810, 1815 (conflicts): ``exception.conflict.resolve-strategy`` — ``retry`` until
  ``retry-max-time-seconds`` (60; < 0 forever), then dropped; ``ignore`` drops at once.
  Dropped data is logged when ``record-ignored-data``.
* 1811 (handshake needed): a connection error — reconnect, handshake, retry.
* 803 (no privileges) with ``skipif=no-privileges``: dropped.
* anything else: retried until ``exception.others.retry-max-time-seconds`` (-1: forever),
  then dropped; with ``exception.others.retry-max-times`` N >= 0 (pipecore's; what a sync-tool
  pipe gets from ``max_number_of_sync_file_retry``) the request is tried N more times, then
  the pipe stops with the error (SHOW PIPES: ERROR).
* with ``quarantine.max-tries`` > 0, "dropped" raises `ReceiverStatusError` instead: the
  runtime retries the event and then puts it in the pipe's quarantine (pipecore.quarantine).

Back-off: ``attempt × pipe_sink_retry_interval_ms``, at most 10 s. `deliver` returns the
answer it stopped at: a success, an ignored or dropped status, or a status the caller asked to
handle itself (1803 for a file piece).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from pipecore import OutageReport, PipeConnectionError, PipeError
from pipecore.rpc import PipeTransferResponse, TSStatusCode

from .errors import ReceiverStatusError, SinkClosedError
from .options import SinkOptions

__all__ = ["StatusPolicy"]

log = logging.getLogger("pipecore.thrift_sink")

_MAX_BACKOFF = 10.0
_CONFLICTS = frozenset(
    {
        TSStatusCode.PIPE_RECEIVER_USER_CONFLICT_EXCEPTION,
        TSStatusCode.PIPE_RECEIVER_PARALLEL_OR_USER_CONFLICT_EXCEPTION,
    }
)


class StatusPolicy:
    """The ``exception.*`` rules of one sink; `closing` ends every wait (the sink closes)."""

    def __init__(
        self, options: SinkOptions, retry_interval: float, outage: OutageReport | None = None
    ) -> None:
        self.options = options
        self.retry_interval = retry_interval
        self.outage = outage if outage is not None else OutageReport()  # for SHOW PIPES
        self.closing = threading.Event()
        self.dropped = 0  # requests given up by the rules (for tests and logs)
        self.counters: Any = None  # the pipe's PipeCounters: error statuses are counted there

    def wait(self, attempt: int) -> None:
        if self.closing.wait(min(attempt * self.retry_interval, _MAX_BACKOFF)):
            raise SinkClosedError("the sink is closing")

    def deliver(
        self,
        send: Callable[[], PipeTransferResponse],
        what: Callable[[], str],
        endpoint: str,
        handle: Collection[int] = (),
    ) -> PipeTransferResponse:
        """Send until the rules say stop. `what()` describes the request for logs; statuses in
        `handle` are returned to the caller at once."""
        started = time.monotonic()
        attempt = 0
        o = self.options
        while True:
            resp = send()
            status = resp.status
            code = status.code
            if status.is_success or code in handle:
                if attempt:
                    self.outage.recovered()
                return resp
            if code == TSStatusCode.PIPE_RECEIVER_IDEMPOTENT_CONFLICT_EXCEPTION:
                log.debug("receiver %s: %s ignored (idempotent): %s", endpoint, what(), status)
                return resp
            if self.counters is not None:
                self.counters.error(None, str(code))
            if code == TSStatusCode.PIPE_CONFIG_RECEIVER_HANDSHAKE_NEEDED:
                raise PipeConnectionError(f"receiver {endpoint} asks for a handshake: {status}")
            if code == TSStatusCode.NO_PERMISSION and o.skip_if_no_privileges:
                return self._drop(resp, endpoint, what, True, "skipif=no-privileges")
            elapsed = time.monotonic() - started
            if code == TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION:
                limit = -1.0
            elif code in _CONFLICTS:
                if o.conflict_strategy == "ignore":
                    return self._drop(resp, endpoint, what, o.conflict_record_ignored, "ignore")
                limit = o.conflict_retry_max_seconds
            else:
                limit = o.others_retry_max_seconds
            if code not in _CONFLICTS and 0 <= o.others_retry_max_times <= attempt:
                raise PipeError(
                    f"receiver {endpoint} answered {status} for {what()} "
                    f"{attempt + 1} times; gave up after {attempt} retries "
                    "(max_number_of_sync_file_retry)"
                )
            if 0 <= limit <= elapsed:
                record = (
                    o.conflict_record_ignored if code in _CONFLICTS else o.others_record_ignored
                )
                return self._drop(resp, endpoint, what, record, f"after {elapsed:.1f}s of retries")
            attempt += 1
            self.outage.retry(f"receiver {endpoint} answered {status} for {what()}")
            if attempt == 1 or attempt % 10 == 0:
                log.warning(
                    "receiver %s answered %s for %s; retrying (attempt %d)",
                    endpoint,
                    status,
                    what(),
                    attempt,
                )
            self.wait(attempt)

    def _drop(
        self,
        resp: PipeTransferResponse,
        endpoint: str,
        what: Callable[[], str],
        record: bool,
        reason: str,
    ) -> PipeTransferResponse:
        if self.options.quarantine_max_tries > 0:  # the runtime retries, then quarantines it
            raise ReceiverStatusError(endpoint, f"{what()} ({reason})", resp.status)
        self.dropped += 1
        if record:
            log.warning("receiver %s: gave up %s (%s): %s", endpoint, what(), reason, resp.status)
        return resp
