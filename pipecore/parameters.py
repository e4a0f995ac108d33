"""`PipeParameters` and `PipeParameterValidator`: the key-value attributes of WITH SOURCE /
PROCESSOR / SINK, with IoTDB 1.3's lookup rules (reference §8.2, §8.3).

Lookup of ``key``: the exact key first, then the key with its first prefix (``extractor.``,
``source.``, ``processor.``, ``connector.``, ``sink.``, matched case-insensitively) removed. So a
bare ``node-urls`` satisfies a lookup of ``sink.node-urls``, but ``connector.node-urls`` does
*not* satisfy a lookup of ``sink.node-urls`` — aliasing is one-way; plugins therefore look up
both spellings (``get_string_or_default(["connector.x", "sink.x"], ...)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from .errors import PipeAttributeNotProvidedError, PipeParameterNotValidError

__all__ = [
    "PipeParameterValidator",
    "PipeParameters",
    "is_secret_key",
    "mask_secrets",
    "reduce_key",
]

_FIRST_PREFIXES = ("extractor.", "source.", "processor.", "connector.", "sink.")
_HIDDEN_KEYS = frozenset({"password", "ssl.trust-store-pwd", "ssl.key-store-pwd"})
PLACEHOLDER = "******"

T = TypeVar("T")


def reduce_key(key: str) -> str:
    """The key without its first prefix (``sink.ip`` → ``ip``; ``SINK.ip`` → ``ip``)."""
    lowered = key.lower()
    for prefix in _FIRST_PREFIXES:
        if lowered.startswith(prefix):
            return key[len(prefix) :]
    return key


_QUOTED_PAIR = re.compile(
    r"""(?P<key>'[^']*'|"[^"]*")(?P<eq>\s*=\s*)(?P<value>'(?:[^']|'')*'|"(?:[^"]|"")*")"""
)


def is_secret_key(key: str) -> bool:
    """A parameter whose value is a secret (a password), with or without its prefix."""
    return reduce_key(key.strip()).lower() in _HIDDEN_KEYS


def mask_secrets(sql: str) -> str:
    """`sql` with the values of secret parameters (``'sink.password'='…'``,
    ``'ssl.trust-store-pwd'='…'``, …) replaced by ``'******'`` — for logs and messages."""

    def repl(m: re.Match[str]) -> str:
        if reduce_key(m.group("key")[1:-1].strip()).lower() not in _HIDDEN_KEYS:
            return m.group(0)
        return f"{m.group('key')}{m.group('eq')}'{PLACEHOLDER}'"

    return _QUOTED_PAIR.sub(repl, sql)


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(text)


def _parse_int(text: str) -> int:
    return int(text.strip())


def _parse_float(text: str) -> float:
    return float(text.strip())


_TYPE_NAMES: dict[Callable[[str], Any], str] = {
    _parse_bool: "a boolean (true or false)",
    _parse_int: "an integer",
    _parse_float: "a number",
    str: "a string",
}


class PipeParameters(Mapping[str, str]):
    """The attributes of one section (source, processor or sink) of a pipe.

    A read-only mapping of the keys exactly as given; lookups through the typed getters follow
    IoTDB's rules. ``str()`` is IoTDB's sorted ``{k1=v1, k2=v2}`` form with passwords masked —
    what SHOW PIPES displays.
    """

    __slots__ = ("_attributes",)

    def __init__(self, attributes: Mapping[str, str] | None = None) -> None:
        self._attributes: dict[str, str] = {str(k): str(v) for k, v in (attributes or {}).items()}

    # ------------------------------------------------------------------ Mapping
    def __getitem__(self, key: str) -> str:
        return self._attributes[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._attributes)

    def __len__(self) -> int:
        return len(self._attributes)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PipeParameters):
            return self._attributes == other._attributes
        if isinstance(other, Mapping):
            return self._attributes == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._attributes.items()))

    @property
    def attributes(self) -> dict[str, str]:
        """A copy of the raw attributes."""
        return dict(self._attributes)

    # ------------------------------------------------------------------ lookup
    def has_attribute(self, key: str) -> bool:
        return key in self._attributes or reduce_key(key) in self._attributes

    def has_any_attributes(self, *keys: str) -> bool:
        return any(self.has_attribute(k) for k in keys)

    def get_string(self, key: str) -> str | None:
        """The value of `key` (exact, then reduced); None when absent."""
        value = self._attributes.get(key)
        return value if value is not None else self._attributes.get(reduce_key(key))

    def get_string_by_keys(self, *keys: str) -> str | None:
        """The value of the first of `keys` that is present."""
        for key in keys:
            value = self.get_string(key)
            if value is not None:
                return value
        return None

    def _found(self, keys: str | Sequence[str]) -> tuple[str, str] | None:
        for key in [keys] if isinstance(keys, str) else keys:
            value = self.get_string(key)
            if value is not None:
                return key, value
        return None

    def _typed(self, keys: str | Sequence[str], parse: Callable[[str], T], default: T) -> T:
        found = self._found(keys)
        if found is None:
            return default
        key, text = found
        try:
            return parse(text)
        except ValueError:
            expected = _TYPE_NAMES.get(parse, parse.__name__)
            raise PipeParameterNotValidError(
                f"Invalid value {text!r} of parameter {key}: expected {expected}",
                key=key,
                expected=expected,
            ) from None

    def get_string_or_default(self, keys: str | Sequence[str], default: str) -> str:
        found = self._found(keys)
        return default if found is None else found[1]

    def get_boolean(self, key: str) -> bool | None:
        return self._typed(key, _parse_bool, None)

    def get_boolean_or_default(self, keys: str | Sequence[str], default: bool) -> bool:
        return self._typed(keys, _parse_bool, default)

    def get_int(self, key: str) -> int | None:
        return self._typed(key, _parse_int, None)

    def get_int_or_default(self, keys: str | Sequence[str], default: int) -> int:
        return self._typed(keys, _parse_int, default)

    # Java's int and long are one type in Python; both names are kept for familiarity.
    get_long = get_int
    get_long_or_default = get_int_or_default

    def get_float(self, key: str) -> float | None:
        return self._typed(key, _parse_float, None)

    def get_float_or_default(self, keys: str | Sequence[str], default: float) -> float:
        return self._typed(keys, _parse_float, default)

    get_double = get_float
    get_double_or_default = get_float_or_default

    # ------------------------------------------------------------------ derivation
    def add_or_replace_equivalent_attributes(self, other: Mapping[str, str]) -> PipeParameters:
        """A copy with `other`'s keys merged in; a key replaces every key equivalent to it
        (same reduced form) — what ALTER PIPE … MODIFY does."""
        merged = dict(self._attributes)
        by_reduced = {reduce_key(k): k for k in merged}
        for key, value in other.items():
            old = by_reduced.get(reduce_key(key))
            if old is not None:
                merged.pop(old, None)
            merged[key] = str(value)
            by_reduced[reduce_key(key)] = key
        return PipeParameters(merged)

    def masked(self) -> dict[str, str]:
        """The attributes with secret values (``password``, ``ssl.trust-store-pwd``,
        ``ssl.key-store-pwd``) masked."""
        return {
            k: PLACEHOLDER if reduce_key(k).lower() in _HIDDEN_KEYS else v
            for k, v in self._attributes.items()
        }

    def __str__(self) -> str:
        items = sorted(self.masked().items())
        return "{" + ", ".join(f"{k}={v}" for k, v in items) + "}"

    def __repr__(self) -> str:
        return f"PipeParameters({self})"


class PipeParameterValidator:
    """Checks a plugin's parameters in its ``*_validate`` hook (reference §8.3).

    Every method returns the validator for chaining and raises `PipeParameterNotValidError`
    (or its subclass `PipeAttributeNotProvidedError`) naming the key and what was expected.
    """

    __slots__ = ("parameters",)

    def __init__(self, parameters: PipeParameters | Mapping[str, str]) -> None:
        if not isinstance(parameters, PipeParameters):
            parameters = PipeParameters(parameters)
        self.parameters = parameters

    def validate_required_attribute(self, key: str) -> PipeParameterValidator:
        if not self.parameters.has_attribute(key):
            raise PipeAttributeNotProvidedError(key)
        return self

    def validate_attribute_value_range(
        self, key: str, can_be_optional: bool, *values: str
    ) -> PipeParameterValidator:
        """The value of `key` must be one of `values` (compared exactly, as IoTDB does)."""
        if not self.parameters.has_attribute(key):
            if not can_be_optional:
                raise PipeParameterNotValidError(
                    f"Parameter {key} should be set.", key=key, expected=f"one of {list(values)}"
                )
            return self
        actual = self.parameters.get_string(key)
        if actual in values:
            return self
        raise PipeParameterNotValidError(
            f"Invalid value {actual} of {key}. The value should be one of {list(values)}",
            key=key,
            expected=f"one of {list(values)}",
        )

    def validate_synonym_attributes(
        self, lhs_keys: Iterable[str], rhs_keys: Iterable[str], is_required: bool
    ) -> PipeParameterValidator:
        """At most one of two spellings may be given (and one of them must be, if required)."""
        lhs, rhs = list(lhs_keys), list(rhs_keys)
        lhs_given = any(self.parameters.has_attribute(k) for k in lhs)
        rhs_given = any(self.parameters.has_attribute(k) for k in rhs)
        if lhs_given and rhs_given:
            raise PipeParameterNotValidError(
                f"Cannot specify both {lhs} and {rhs} at the same time",
                key=lhs[0] if lhs else None,
                expected=f"only one of {lhs + rhs}",
            )
        if is_required and not lhs_given and not rhs_given:
            raise PipeAttributeNotProvidedError(str(lhs + rhs))
        return self

    def validate(
        self, rule: Callable[..., bool], message: str, *arguments: Any, key: str | None = None
    ) -> PipeParameterValidator:
        """A custom rule: ``rule(*arguments)`` must be true, else `message` is raised."""
        if not rule(*arguments):
            raise PipeParameterNotValidError(message, key=key)
        return self
