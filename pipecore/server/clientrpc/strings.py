"""String values of ``insertStringRecord(s)``: IoTDB's type inference and parsing.

A string written to a series that does not exist yet is typed as IoTDB's
``TypeInferenceUtils.getPredictedDataType`` types it (the ``*_string_infer_type`` keys of the
store configuration):

* ``true`` / ``false`` (any case) → ``boolean_string_infer_type`` (BOOLEAN);
* a number (Java's ``Double.parseDouble`` accepts it, ``NaN`` excepted): without a ``.``
  and within ±2^24 → ``integer_string_infer_type``, other integers (or exponent forms)
  → DOUBLE (IoTDB's ``long_string_infer_type``), with a ``.`` → ``floating_string_infer_type``;
* ``null`` / ``NULL`` → a null (no point is written);
* ``NaN`` → ``nan_string_infer_type``;
* anything else → TEXT.

A string written to an existing series is parsed by the series' type; one that does not
parse is a DATA_TYPE_MISMATCH (614), as in IoTDB.
"""

from __future__ import annotations

import datetime
import math
import re

from pipecore_storage.config import StoreConfig
from pipecore_storage.types import TSDataType

from ...timeparse import parse_time_value
from .errors import DATA_TYPE_MISMATCH, ClientCallError

__all__ = ["infer_string_type", "parse_string"]

# what Java's Double.parseDouble takes (decimal forms; hex floats and the f/d suffixes too)
_JAVA_DOUBLE = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+[fFdD]?)"
)
_BLOB_LITERAL = re.compile(
    r"[xX]'(?P<hex>(?:[0-9a-fA-F]{2})*)'|0[xX](?P<hex0x>(?:[0-9a-fA-F]{2})*)"
)
_FLOAT_PRECISION_LIMIT = 1 << 24
_INT_RANGES = {
    TSDataType.INT32: (-(2**31), 2**31 - 1),
    TSDataType.INT64: (-(2**63), 2**63 - 1),
    TSDataType.TIMESTAMP: (-(2**63), 2**63 - 1),
}


def _is_number(text: str) -> bool:
    return text != "NaN" and _JAVA_DOUBLE.fullmatch(text.strip()) is not None


def _precision_lack(text: str) -> bool:
    try:
        return int(text.strip()) > _FLOAT_PRECISION_LIMIT
    except ValueError:
        return True


def infer_string_type(text: str, config: StoreConfig) -> TSDataType | None:
    """The type a new series gets from its first string value; None for ``null``."""
    if text.lower() in ("true", "false"):
        return config.boolean_string_infer_type
    if _is_number(text):
        if "." not in text:
            if _precision_lack(text):
                return TSDataType.DOUBLE  # IoTDB's long_string_infer_type default
            return config.integer_string_infer_type
        return config.floating_string_infer_type
    if text in ("null", "NULL"):
        return None
    if text == "NaN":
        return config.nan_string_infer_type
    return TSDataType.TEXT


def _mismatch(path: str, data_type: TSDataType, text: str, timestamp: int) -> ClientCallError:
    return ClientCallError(
        DATA_TYPE_MISMATCH,
        f"data type of {path} is not consistent, registered type {data_type.name}, "
        f"inserting type TEXT, timestamp {timestamp}, value {text}",
        path,
    )


def _float(text: str) -> float:
    cleaned = text.strip().rstrip("fFdD")
    if cleaned.lower().lstrip("+-").startswith("0x"):
        return float.fromhex(cleaned)
    return float(cleaned)


def parse_string(text: str, data_type: TSDataType, path: str, timestamp: int) -> object:
    """`text` as a value of `data_type` (the store's Python form); 614 when it does not parse."""
    try:
        if data_type is TSDataType.BOOLEAN:
            lowered = text.strip().lower()
            if lowered in ("true", "false", "1", "0"):  # IoTDB's parseBoolean takes 1/0 too
                return lowered in ("true", "1")
        elif data_type is TSDataType.TIMESTAMP and not _is_number(text):
            return parse_time_value(text.strip())  # a datetime (RpcUtils.formatDatetime's)
        elif data_type in _INT_RANGES:
            number = int(text.strip())
            lo, hi = _INT_RANGES[data_type]
            if lo <= number <= hi:
                return number
        elif data_type in (TSDataType.FLOAT, TSDataType.DOUBLE):
            if text == "NaN" or _is_number(text):
                value = _float(text)
                if data_type is TSDataType.FLOAT and math.isfinite(value) and abs(value) > 3.4e38:
                    raise ValueError(text)
                return value
        elif data_type in (TSDataType.TEXT, TSDataType.STRING):
            return text
        elif data_type is TSDataType.BLOB:
            literal = _BLOB_LITERAL.fullmatch(text.strip())
            if literal is not None:  # X'..' or 0x.. (IoTDB's BinaryLiteral)
                return bytes.fromhex(literal["hex"] or literal["hex0x"] or "")
            return text.encode("utf-8")
        elif data_type is TSDataType.DATE:
            day = datetime.date.fromisoformat(text.strip())
            return day.year * 10000 + day.month * 100 + day.day
    except ValueError:
        pass
    raise _mismatch(path, data_type, text, timestamp)
