"""The schema template calls of `IClientRPCService` on the node's `SchemaTemplates`.

``createSchemaTemplate`` carries the template serialized as IoTDB's Session clients write it
(big-endian; strings as int32 length + UTF-8): the template name, a ``shareTime`` byte, then
per measurement its parent prefix (a string, ``""`` at the top), an ``aligned`` byte, and the
measurement: name, data type byte, encoding byte, compressor byte. pipecore's templates are
flat (IoTDB ≥ 1.0 accepts only flat templates too): a measurement under a prefix is refused.

``querySchemaTemplate``'s query types (``TemplateQueryType``): 0 count measurements,
1 is measurement, 2 path exists, 3 show measurements, 4 show templates, 5 show paths set,
6 show paths using.
"""

from __future__ import annotations

import struct
from typing import Any

from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

from ...rpc import thrift as t
from ...schema_templates import TemplateError, TemplateMeasurement
from .errors import ILLEGAL_PARAMETER, ClientCallError

__all__ = ["TemplateCalls", "parse_template"]

_INT = struct.Struct(">i")
SUCCESS = 200


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.offset + n > len(self.data):
            raise ClientCallError(ILLEGAL_PARAMETER, "the serialized template is truncated")
        out = self.data[self.offset : self.offset + n]
        self.offset += n
        return out

    def string(self) -> str:
        (n,) = _INT.unpack(self.take(4))
        return self.take(n).decode("utf-8") if n > 0 else ""

    def byte(self) -> int:
        return self.take(1)[0]

    @property
    def done(self) -> bool:
        return self.offset >= len(self.data)


def parse_template(data: bytes) -> tuple[str, bool, list[TemplateMeasurement]]:
    """(name, aligned, measurements) of a serialized template."""
    reader = _Bytes(data or b"")
    name = reader.string()
    aligned = reader.byte() != 0
    measurements = []
    while not reader.done:
        prefix = reader.string()
        aligned = aligned or reader.byte() != 0
        m_name = reader.string()
        codes = reader.byte(), reader.byte(), reader.byte()
        if prefix:
            raise ClientCallError(
                ILLEGAL_PARAMETER,
                f"template {name}: {prefix}.{m_name} is nested; templates are flat",
                name,
            )
        try:
            measurements.append(
                TemplateMeasurement(
                    m_name, TSDataType(codes[0]), TSEncoding(codes[1]), CompressionType(codes[2])
                )
            )
        except ValueError as exc:
            raise ClientCallError(ILLEGAL_PARAMETER, f"template {name}: {exc}", name) from None
    return name, aligned, measurements


def _call(method):
    """Login check; TemplateError and ClientCallError become their status."""

    def call(self: Any, req: Any) -> Any:
        refused = self._check(None)
        if refused is not None:
            return refused
        try:
            method(self, req)
        except (TemplateError, ClientCallError) as exc:
            return t.TSStatus(code=exc.code, message=str(exc))
        except Exception as exc:
            from .handler import failure_status

            if not isinstance(exc, (ValueError, OSError)):
                raise
            return failure_status(exc)
        return t.TSStatus(code=SUCCESS)

    call.__name__ = method.__name__
    return call


class TemplateCalls:
    """Mixin of `ClientSessionHandler`: the template calls (needs ``node`` and ``_check``)."""

    node: Any
    _check: Any  # the session's login check (SqlSessionHandler)

    @_call
    def createSchemaTemplate(self, req: Any) -> None:
        name, aligned, measurements = parse_template(req.serializedTemplate)
        self.node.templates.create(req.name or name, measurements, aligned)

    @_call
    def appendSchemaTemplate(self, req: Any) -> None:
        lists = (req.measurements, req.dataTypes, req.encodings, req.compressors)
        if len({len(x or []) for x in lists}) != 1:
            raise ClientCallError(ILLEGAL_PARAMETER, "appendSchemaTemplate: list lengths differ")
        measurements = [
            TemplateMeasurement(m, TSDataType(d), TSEncoding(e), CompressionType(c))
            for m, d, e, c in zip(*lists, strict=True)
        ]
        self.node.templates.append(req.name, measurements, self.node.store)

    @_call
    def pruneSchemaTemplate(self, req: Any) -> None:
        self.node.templates.prune(req.name, req.path)

    @_call
    def setSchemaTemplate(self, req: Any) -> None:
        self.node.templates.set(req.templateName, req.prefixPath, self.node.store)

    @_call
    def unsetSchemaTemplate(self, req: Any) -> None:
        self.node.templates.unset(req.templateName, req.prefixPath)

    @_call
    def dropSchemaTemplate(self, req: Any) -> None:
        self.node.templates.drop(req.templateName)

    @_call
    def createTimeseriesUsingSchemaTemplate(self, req: Any) -> None:
        for device in req.devicePathList or []:
            self.node.templates.activate(device, self.node.store)

    def querySchemaTemplate(self, req: Any) -> Any:
        refused = self._check(None)
        kind = int(req.queryType)
        if refused is not None:
            return t.TSQueryTemplateResp(status=refused, queryType=kind)
        try:
            fields = _query(self.node.templates, kind, req.name, req.measurement)
        except (TemplateError, ClientCallError) as exc:
            return t.TSQueryTemplateResp(
                status=t.TSStatus(code=exc.code, message=str(exc)), queryType=kind
            )
        return t.TSQueryTemplateResp(status=t.TSStatus(code=SUCCESS), queryType=kind, **fields)


def _query(templates: Any, kind: int, name: str, measurement: str | None) -> dict[str, Any]:
    if kind == 4:
        return {"measurements": list(templates.templates)}
    if kind == 5:
        return {"measurements": templates.paths_set(name)}
    if kind == 6:
        return {"measurements": templates.paths_using(name)}
    template = templates.get(name)
    names = [m.name for m in template.ordered()]
    if kind == 0:
        return {"count": len(names)}
    if kind in (1, 2):
        return {"result": (measurement or "") in template.measurements}
    if kind == 3:
        prefix = (measurement or "").strip()
        return {"measurements": [n for n in names if not prefix or n.startswith(prefix)]}
    raise ClientCallError(ILLEGAL_PARAMETER, f"unknown template query type {kind}")
