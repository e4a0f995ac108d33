"""``iotdb-air-gap-sink``: the thrift sink's requests through a one-way gateway (reference
§5.5): the same handshake, tablets and TsFile pieces and seals, each framed with its length
(twice) and CRC32 on a plain TCP socket, each answered by one byte.

Reused from the sync thrift sink: the requests and their encoding, the handshake (v2, then v1
when v2 is refused), ``node-urls`` with load balancing and fail-over, compression, the status
rules. What differs:

* connect + handshake wait at most ``air-gap.handshake-timeout-ms`` (5000), then
  ``pipe_sink_timeout_ms``;
* no batching: ``batch.enable`` is turned off (a warning when it was asked for) — every
  tablet is one request (type 3);
* a TsFile goes from offset 0 in full; when the receiver answers FAIL to a piece or to the
  seal, the connection is dropped and the whole file is sent again on a new one (the
  receiver keeps pieces per connection and truncates a file sent again);
* TsFiles are rewritten as format version 3 unless ``tsfile.format-version`` says otherwise:
  a one-byte reply cannot tell a pipecore receiver (which loads 4) from an IoTDB.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

import attrs

from pipecore import (
    PipeConnectionError,
    PipeParameters,
    PipeParameterValidator,
    RuntimeConfiguration,
    TsFileInsertionEvent,
)
from pipecore.rpc import PipeTransferResponse
from pipecore_thrift_sink import ClientSet, IoTDBThriftSyncSink, SinkClient
from pipecore_thrift_sink.options import keys
from pipecore_thrift_sink.protocol import DEFAULT_AIR_GAP_MAX_PAYLOAD
from pipecore_thrift_sink.status import StatusPolicy

from .options import AirGapOptions
from .transport import air_gap_transport_factory

__all__ = ["AirGapFileError", "IoTDBAirGapSink"]

log = logging.getLogger("pipecore.air_gap_sink")

#: bodies at least this long go as slices (type 400): an air-gap receiver takes at most
#: ``pipe_air_gap_receiver_max_payload_size_in_bytes`` (64 MiB) per frame
AIR_GAP_SLICE_THRESHOLD = DEFAULT_AIR_GAP_MAX_PAYLOAD // 2


class AirGapFileError(PipeConnectionError):
    """The air-gap receiver answered FAIL to a piece or the seal of a TsFile: the file is
    sent again, from its start, on a new connection."""


class _WholeFilePolicy(StatusPolicy):
    """A TsFile's pieces and seal over an air gap: OK goes on, FAIL restarts the file."""

    def __init__(self, base: StatusPolicy) -> None:
        super().__init__(base.options, base.retry_interval, base.outage)
        self.closing = base.closing

    def deliver(
        self,
        send: Callable[[], PipeTransferResponse],
        what: Callable[[], str],
        endpoint: str,
        handle: Collection[int] = (),
    ) -> PipeTransferResponse:
        resp = send()
        if resp.status.is_success:
            return resp
        raise AirGapFileError(
            f"receiver {endpoint} answered FAIL to the {what()}; the file is sent again from "
            "its start on a new connection"
        )


class IoTDBAirGapSink(IoTDBThriftSyncSink):
    """The air-gap sink; `air_gap` holds its own options."""

    air_gap: AirGapOptions

    def connector_validate(self, validator: PipeParameterValidator) -> None:
        super().connector_validate(validator)
        AirGapOptions.parse(validator.parameters)

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        self.air_gap = AirGapOptions.parse(parameters)
        super().connector_customize(parameters, configuration)
        if self.options.batch_enable:
            asked = parameters.has_any_attributes(*keys("batch.enable"))
            log.log(
                logging.WARNING if asked else logging.INFO,
                "pipe %s: batch mode is enabled by the given parameters; iotdb-air-gap-sink "
                "does not support batch mode: disabled",
                configuration.pipe_name,
            )
            self.options = attrs.evolve(self.options, batch_enable=False)
        self.client_settings = attrs.evolve(
            self.client_settings,
            handshake_timeout=self.air_gap.handshake_timeout,
            slice_threshold=min(self.client_settings.slice_threshold, AIR_GAP_SLICE_THRESHOLD),
        )
        self.clients = ClientSet(
            self.options.endpoints, self.options.load_balance_strategy, self.client_settings
        )
        self._files_policy = _WholeFilePolicy(self.policy)

    def transport_factory(self) -> Any:
        return air_gap_transport_factory(self.air_gap.e_language, self.options.send_ports)

    def file_policy(self) -> StatusPolicy:
        return self._files_policy

    def send_file_now(self, event: TsFileInsertionEvent, client: SinkClient) -> None:
        try:
            super().send_file_now(event, client)
        except AirGapFileError as exc:
            log.warning("pipe %s: %s", self._pipe, exc)
            client.drop()  # a new connection: the receiver starts the file afresh
            raise
