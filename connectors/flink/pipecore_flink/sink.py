"""``IoTDBSink``: a PyFlink job writes its records into IoTDB or ``pipecore serve``.

PyFlink's Python sinks have no checkpoint hook, so a buffer held in a sink's memory is lost
when its worker dies. This sink keeps its buffer in Flink keyed state instead: records are keyed
by device and go into a ``KeyedProcessFunction`` that appends each event to a ``ListState``
and, when the buffer holds ``batch_size`` events (or ``flush_interval_ms`` after its first
event, or at the end of a bounded input), writes the buffer through IoTDB's client protocol
and only then clears it. Flink checkpoints the buffer with the rest of the job's state; after a
failure the job restarts from its last checkpoint with the buffer as it was then, and the source
replays what came after. Every record is therefore written at least once, and since a write of
the same device, time and measurement is a rewrite, the data at the server is as if written
exactly once.

    sink = (IoTDBSink(options, DefaultIoTSerializationSchema())
            .with_batch_size(10)
            .with_session_pool_size(3))
    sink.attach(stream, name="iotdb-sink")
"""

from __future__ import annotations

from typing import Any

from .options import IoTDBSinkOptions
from .serialization import Event, SerializationSchema, as_serializer

# the end of a bounded input raises the watermark to Long.MAX_VALUE: this timer then fires
_END_OF_INPUT = 2**63 - 2


class IoTDBSink:
    """Seed 004's ``IoTDBSink`` (options, serialization schema, batch size, session pool)."""

    def __init__(
        self, options: IoTDBSinkOptions, serialization_schema: SerializationSchema | None = None
    ) -> None:
        self.options = options
        self.serialization_schema = serialization_schema
        self.batch_size = 1
        self.session_pool_size = 1
        self.flush_interval_ms = 200

    def with_batch_size(self, batch_size: int) -> IoTDBSink:
        if batch_size < 1:
            raise ValueError(f"batch size must be at least 1, not {batch_size}")
        self.batch_size = batch_size
        return self

    def with_session_pool_size(self, session_pool_size: int) -> IoTDBSink:
        if session_pool_size < 1:
            raise ValueError(f"session pool size must be at least 1, not {session_pool_size}")
        self.session_pool_size = session_pool_size
        return self

    def with_flush_interval(self, milliseconds: int) -> IoTDBSink:
        """The longest an event waits in a partly filled batch (processing time)."""
        if milliseconds < 1:
            raise ValueError(f"flush interval must be at least 1 ms, not {milliseconds}")
        self.flush_interval_ms = milliseconds
        return self

    def attach(self, stream: Any, name: str = "iotdb-sink", parallelism: int | None = None) -> Any:
        """Add this sink to a ``DataStream`` (Java's ``stream.addSink(sink)``); returns the
        ``DataStreamSink``. ``parallelism`` is that of the writing operator."""
        from pyflink.common import Types
        from pyflink.datastream.connectors.base import Sink

        serializer = as_serializer(self.serialization_schema)

        def serialize(record: Any) -> Any:
            event = serializer(record)
            if event is not None:
                yield event

        events = stream.flat_map(serialize, output_type=Types.PICKLED_BYTE_ARRAY()).name(
            f"{name}-serialize"
        )
        if parallelism is not None:
            events = events.set_parallelism(parallelism)
        writer = _make_writer_function(
            self.options, self.batch_size, self.session_pool_size, self.flush_interval_ms
        )
        written = (
            events.key_by(lambda e: e.device, key_type=Types.STRING())
            .process(writer, output_type=Types.LONG())
            .name(name)
        )
        if parallelism is not None:
            written = written.set_parallelism(parallelism)
        # the writer emits how many events each write carried; nothing downstream needs them
        return written.sink_to(Sink(_DISCARD)).name(f"{name}-done")


_DISCARD = "org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink"


def _make_writer_function(
    options: IoTDBSinkOptions, batch_size: int, pool_size: int, flush_interval_ms: int
) -> Any:
    from pyflink.common import Types
    from pyflink.datastream import KeyedProcessFunction, RuntimeContext
    from pyflink.datastream.state import ListStateDescriptor, ValueStateDescriptor

    from .writer import Writer

    class _BufferedWriter(KeyedProcessFunction):
        """Buffers a device's events in keyed state; writes, then clears."""

        def open(self, runtime_context: RuntimeContext) -> None:
            self.writer = Writer(options, pool_size)
            self.writer.register()
            self.buffer = runtime_context.get_list_state(
                ListStateDescriptor("iotdb-sink-buffer", Types.PICKLED_BYTE_ARRAY())
            )
            self.count = runtime_context.get_state(
                ValueStateDescriptor("iotdb-sink-buffered", Types.INT())
            )

        def process_element(self, event: Event, ctx: KeyedProcessFunction.Context) -> Any:
            if batch_size == 1:
                self.writer.write([event])
                yield 1
                return
            self.buffer.add(event)
            n = (self.count.value() or 0) + 1
            if n == 1:
                timers = ctx.timer_service()
                timers.register_processing_time_timer(
                    timers.current_processing_time() + flush_interval_ms
                )
                timers.register_event_time_timer(_END_OF_INPUT)
            if n >= batch_size:
                yield from self._flush()
            else:
                self.count.update(n)

        def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Any:
            yield from self._flush()

        def _flush(self) -> Any:
            events = list(self.buffer.get() or ())
            if events:
                # the write comes first: a failure before clear() keeps the buffer for a retry
                self.writer.write(events)
                yield len(events)
            self.buffer.clear()
            self.count.clear()

        def close(self) -> None:
            writer = getattr(self, "writer", None)
            if writer is not None:
                writer.close()

    return _BufferedWriter()
