"""Parameter helpers shared by the processors: typed look-ups that fail with IoTDB's
``"<key> must be >= 0, but got <value>"`` wording, and the node's timestamp precision."""

from __future__ import annotations

from pipecore import PipeParameterValidator, RuntimeConfiguration

__all__ = ["precision_factor", "validated_float", "validated_int"]

_PER_SECOND = {"ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def validated_int(
    validator: PipeParameterValidator, key: str, default: int, *, minimum: int
) -> int:
    """The integer value of `key` (or `default`); it must be at least `minimum`."""
    value = validator.parameters.get_long_or_default(key, default)
    validator.validate(
        lambda v: v >= minimum, f"{key} must be >= {minimum}, but got {value}", value, key=key
    )
    return value


def validated_float(
    validator: PipeParameterValidator, key: str, default: float, *, minimum: float
) -> float:
    """The numeric value of `key` (or `default`); it must be at least `minimum` (not NaN)."""
    value = validator.parameters.get_double_or_default(key, default)
    validator.validate(
        lambda v: v >= minimum, f"{key} must be >= {minimum:g}, but got {value}", value, key=key
    )
    return value


def precision_factor(configuration: RuntimeConfiguration) -> int:
    """Timestamp units per second on this node (``timestamp_precision``: ms, us or ns)."""
    config = configuration.node_config
    precision = "ms"
    if config is not None:
        precision = str(getattr(config.node, "timestamp_precision", "ms"))
    return _PER_SECOND.get(precision, 1_000)
