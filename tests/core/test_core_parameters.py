"""PipeParameters and PipeParameterValidator follow IoTDB 1.3's rules (reference §8.2, §8.3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import PARAMETER_PREFIXES, bare_parameter_keys, parameter_values

from pipecore import (
    PipeAttributeNotProvidedError,
    PipeParameterNotValidError,
    PipeParameters,
    PipeParameterValidator,
)

PREFIXES = PARAMETER_PREFIXES
bare_keys = bare_parameter_keys()
values = parameter_values()


def test_exact_key_then_the_key_without_its_first_prefix() -> None:
    p = PipeParameters({"node-urls": "a:1", "sink.port": "6668"})
    assert p.get_string("sink.node-urls") == "a:1"
    assert p.get_string("connector.node-urls") == "a:1"
    assert p.get_string("node-urls") == "a:1"
    assert p.get_string("sink.port") == "6668"
    assert p.get_string("port") is None  # the bare lookup does not find a prefixed key
    assert p.get_string("missing") is None


def test_aliasing_is_one_way_between_prefixes() -> None:
    p = PipeParameters({"connector.ip": "10.0.0.1"})
    assert p.get_string("connector.ip") == "10.0.0.1"
    assert p.get_string("sink.ip") is None
    assert p.get_string_by_keys("sink.ip", "connector.ip") == "10.0.0.1"
    assert p.get_string_or_default(["sink.ip", "connector.ip"], "x") == "10.0.0.1"


def test_the_prefix_of_the_lookup_key_is_matched_ignoring_case() -> None:
    p = PipeParameters({"ip": "h"})
    assert p.get_string("SINK.ip") == "h"
    assert p.get_string("Source.ip") == "h"
    assert p.has_attribute("CONNECTOR.ip")


@given(key=bare_keys, value=values, prefix=st.sampled_from(PREFIXES))
@settings(max_examples=200, deadline=None)
def test_a_bare_key_satisfies_every_prefixed_lookup(key: str, value: str, prefix: str) -> None:
    p = PipeParameters({key: value})
    assert p.get_string(prefix + key) == value
    assert p.get_string(prefix.upper() + key) == value
    assert p.has_attribute(prefix + key)


@given(
    key=bare_keys,
    value=values,
    given_prefix=st.sampled_from(PREFIXES),
    lookup_prefix=st.sampled_from(PREFIXES),
)
@settings(max_examples=200, deadline=None)
def test_a_prefixed_key_satisfies_only_its_own_spelling(
    key: str, value: str, given_prefix: str, lookup_prefix: str
) -> None:
    p = PipeParameters({given_prefix + key: value})
    found = p.get_string(lookup_prefix + key)
    assert found == (value if lookup_prefix == given_prefix else None)


def test_typed_getters_with_defaults() -> None:
    p = PipeParameters(
        {"sink.batch.enable": "FALSE", "port": " 6668 ", "rate": "2.5", "big": str(2**40)}
    )
    assert p.get_boolean_or_default(["connector.batch.enable", "sink.batch.enable"], True) is False
    assert p.get_boolean("sink.batch.enable") is False
    assert p.get_boolean_or_default("missing", True) is True
    assert p.get_int("sink.port") == 6668
    assert p.get_long("big") == 2**40
    assert p.get_int_or_default(["x", "y"], 7) == 7
    assert p.get_double("rate") == 2.5
    assert p.get_float_or_default("rate", 0.0) == 2.5
    assert p.get_int("missing") is None


@pytest.mark.parametrize(
    ("getter", "raw", "expected"),
    [
        ("get_int", "12x", "an integer"),
        ("get_boolean", "yes", "true or false"),
        ("get_double", "fast", "a number"),
    ],
)
def test_a_malformed_value_names_the_key_and_what_was_expected(
    getter: str, raw: str, expected: str
) -> None:
    p = PipeParameters({"sink.k": raw})
    with pytest.raises(PipeParameterNotValidError) as info:
        getattr(p, getter)("sink.k")
    assert info.value.key == "sink.k"
    assert expected in str(info.value) and raw in str(info.value)


def test_str_is_the_sorted_form_with_secrets_masked() -> None:
    p = PipeParameters(
        {
            "sink.password": "secret1",
            "sink": "iotdb-thrift-sink",
            "ssl.trust-store-pwd": "secret2",
            "connector.ssl.trust-store-pwd": "secret3",
            "password": "secret4",
            "a": "1",
        }
    )
    assert str(p) == (
        "{a=1, connector.ssl.trust-store-pwd=******, password=******, sink=iotdb-thrift-sink, "
        "sink.password=******, ssl.trust-store-pwd=******}"
    )
    assert str(PipeParameters({})) == "{}"
    assert p["sink.password"] == "secret1"  # only the display is masked


@given(st.dictionaries(bare_keys, values, max_size=6), values.filter(lambda v: len(v) > 3))
@settings(max_examples=100, deadline=None)
def test_no_password_is_ever_shown(attrs: dict[str, str], secret: str) -> None:
    attrs = {**attrs, "sink.password": secret}
    shown = str(PipeParameters(attrs))
    assert "sink.password=******" in shown
    elsewhere = "".join(f"{k}={v}" for k, v in attrs.items() if k != "sink.password")
    if secret not in elsewhere and secret not in "{sink.password=******}, ":
        assert secret not in shown


def test_modify_replaces_equivalent_spellings() -> None:
    old = PipeParameters({"sink": "iotdb-thrift-sink", "sink.ip": "a", "batch.enable": "true"})
    new = old.add_or_replace_equivalent_attributes({"ip": "b", "connector.batch.enable": "false"})
    assert dict(new) == {"sink": "iotdb-thrift-sink", "ip": "b", "connector.batch.enable": "false"}
    assert dict(old)["sink.ip"] == "a"  # the original is unchanged


def test_parameters_compare_with_mappings_and_hash() -> None:
    assert PipeParameters({"a": "1"}) == {"a": "1"}
    assert PipeParameters({"a": "1"}) != PipeParameters({"a": "2"})
    assert len({PipeParameters({"a": "1"}), PipeParameters({"a": "1"})}) == 1


def test_validator_required_attribute() -> None:
    v = PipeParameterValidator({"node-urls": "h:1"})
    assert v.validate_required_attribute("sink.node-urls") is v
    with pytest.raises(PipeAttributeNotProvidedError) as info:
        v.validate_required_attribute("sink.ip")
    assert info.value.key == "sink.ip"
    assert str(info.value) == 'attribute "sink.ip" is required but was not provided.'


def test_validator_value_range() -> None:
    v = PipeParameterValidator({"sink.format": "tsfile"})
    v.validate_attribute_value_range("sink.format", True, "hybrid", "tablet", "tsfile")
    v.validate_attribute_value_range("sink.absent", True, "x")
    with pytest.raises(PipeParameterNotValidError) as info:
        v.validate_attribute_value_range("sink.format", True, "hybrid", "tablet")
    assert info.value.key == "sink.format"
    assert "Invalid value tsfile of sink.format" in str(info.value)
    with pytest.raises(PipeParameterNotValidError, match=r"Parameter sink\.absent should be set"):
        v.validate_attribute_value_range("sink.absent", False, "x")


def test_validator_synonyms() -> None:
    both = PipeParameterValidator({"user": "a", "sink.username": "b"})
    with pytest.raises(PipeParameterNotValidError, match="Cannot specify both"):
        both.validate_synonym_attributes(
            ["connector.user", "sink.user"], ["connector.username", "sink.username"], False
        )
    neither = PipeParameterValidator({})
    neither.validate_synonym_attributes(["sink.user"], ["sink.username"], False)
    with pytest.raises(PipeAttributeNotProvidedError, match=r"sink\.user"):
        neither.validate_synonym_attributes(["sink.user"], ["sink.username"], True)


def test_validator_custom_rule() -> None:
    v = PipeParameterValidator({"sink.port": "70000"})
    port = v.parameters.get_int("sink.port")
    with pytest.raises(PipeParameterNotValidError, match="port out of range") as info:
        v.validate(lambda p: 0 < p < 65536, "port out of range", port, key="sink.port")
    assert info.value.key == "sink.port"
    assert v.validate(lambda a, b: a < b, "order", 1, 2) is v


def test_mask_secrets_hides_secret_values_in_sql_text() -> None:
    from pipecore.parameters import mask_secrets

    sql = (
        "create pipe a with sink ('sink'='iotdb-thrift-ssl-sink', 'sink.password'='p4ss', "
        "'ssl.trust-store-pwd' = \"t0p\", 'ip'='10.0.0.1', 'SINK.ssl.key-store-pwd'='k''ey')"
    )
    masked = mask_secrets(sql)
    for secret in ("p4ss", "t0p", "k''ey"):
        assert secret not in masked
    assert "'sink.password'='******'" in masked
    assert "'ip'='10.0.0.1'" in masked and "'sink'='iotdb-thrift-ssl-sink'" in masked
    assert mask_secrets("select ** from root") == "select ** from root"


def test_an_unexpected_failure_logs_the_statement_without_its_password(
    tmp_path, caplog, monkeypatch
) -> None:
    import pipecore
    from pipecore.sql import SqlError

    with pipecore.Node.open(tmp_path) as node:

        def explode(*args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(node, "create_pipe", explode)
        with pytest.raises(SqlError, match="internal error"):
            node.execute(
                "create pipe a with sink ('sink'='do-nothing-sink', 'sink.password'='p4ss')"
            )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "create pipe a" in logged and "p4ss" not in logged
