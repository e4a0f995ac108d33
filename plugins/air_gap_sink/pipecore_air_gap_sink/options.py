"""The air-gap sink's own parameters (reference §5.5, §5.6; seed 002), beside the thrift
sink's (`pipecore_thrift_sink.SinkOptions`). Each key may be written ``sink.<key>``,
``connector.<key>`` or bare."""

from __future__ import annotations

import attrs

from pipecore import PipeParameterNotValidError, PipeParameters
from pipecore_thrift_sink.options import keys

__all__ = ["DEFAULT_HANDSHAKE_TIMEOUT_MS", "AirGapOptions"]

DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000
HANDSHAKE_TIMEOUT = "air-gap.handshake-timeout-ms"
E_LANGUAGE = "air-gap.e-language.enable"


@attrs.frozen
class AirGapOptions:
    """`handshake_timeout_ms`: connect + handshake (then ``pipe_sink_timeout_ms``);
    `e_language`: wrap every frame for a Syskeeper gateway."""

    handshake_timeout_ms: int = DEFAULT_HANDSHAKE_TIMEOUT_MS
    e_language: bool = False

    @property
    def handshake_timeout(self) -> float:
        return self.handshake_timeout_ms / 1000.0

    @classmethod
    def parse(cls, p: PipeParameters) -> AirGapOptions:
        timeout = p.get_int_or_default(keys(HANDSHAKE_TIMEOUT), DEFAULT_HANDSHAKE_TIMEOUT_MS)
        if timeout <= 0:
            raise PipeParameterNotValidError(
                f"Invalid value {timeout} of sink.{HANDSHAKE_TIMEOUT}: must be positive",
                key=f"sink.{HANDSHAKE_TIMEOUT}",
                expected="milliseconds > 0",
            )
        return cls(
            handshake_timeout_ms=timeout,
            e_language=p.get_boolean_or_default(keys(E_LANGUAGE), False),
        )
