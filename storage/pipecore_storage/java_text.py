"""Floating-point numbers as Java prints them (`Float.toString` / `Double.toString`): what
IoTDB shows for a FLOAT or DOUBLE cell, and the text its pipe receiver makes when it
converts a number into a TEXT series."""

from __future__ import annotations

import math
from decimal import Decimal

__all__ = ["java_float_text"]


def java_float_text(value: float, shortest: str) -> str:
    """Java's text of `value`, given `shortest`, its shortest round-trip digits (Python's
    ``repr`` of a double, ``str`` of a numpy float32): plain for 1e-3 <= |x| < 1e7,
    otherwise ``d.dddE<n>``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    number = Decimal(shortest).normalize()
    if 1e-3 <= abs(value) < 1e7:
        text = format(number, "f")
        return text if "." in text else text + ".0"
    sign, digits, _ = number.as_tuple()
    mantissa = str(digits[0]) + "." + ("".join(map(str, digits[1:])) or "0")
    return f"{'-' if sign else ''}{mantissa}E{number.adjusted()}"
