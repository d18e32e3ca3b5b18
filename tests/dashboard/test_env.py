from decimal import Decimal

import pytest

from dashboard.env import (
    ConfigError,
    env_bool,
    env_decimal,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
)

SPELLINGS = [
    ("1", True),
    ("true", True),
    ("YES", True),
    ("on", True),
    ("0", False),
    ("false", False),
    ("No", False),
]


@pytest.mark.parametrize("raw,expected", [*SPELLINGS, ("", False)])
def test_env_bool_reads_common_spellings(raw, expected):
    assert env_bool("X", not expected, environ={"X": raw}) is expected


def test_env_bool_default_when_unset():
    assert env_bool("X", True, environ={}) is True


def test_env_bool_refuses_garbage():
    with pytest.raises(ConfigError, match="X='maybe' is not a boolean"):
        env_bool("X", environ={"X": "maybe"})


def test_env_int_parses_and_checks_bounds():
    assert env_int("N", 3, environ={"N": " 42 "}) == 42
    assert env_int("N", 3, environ={}) == 3
    with pytest.raises(ConfigError, match="not an integer"):
        env_int("N", 3, environ={"N": "4.5"})
    with pytest.raises(ConfigError, match="below the minimum 1"):
        env_int("N", 3, minimum=1, environ={"N": "0"})
    with pytest.raises(ConfigError, match="above the maximum 10"):
        env_int("N", 3, maximum=10, environ={"N": "11"})


def test_env_list_splits_and_drops_blanks():
    assert env_list("L", environ={"L": "a, b,,c ,"}) == ["a", "b", "c"]
    assert env_list("L", ["x"], environ={"L": ""}) == ["x"]


def test_env_str_treats_empty_as_unset():
    assert env_str("S", "d", environ={"S": ""}) == "d"
    assert env_str("S", "d", environ={"S": "v"}) == "v"


def test_env_secret_reads_file(tmp_path):
    f = tmp_path / "pw"
    f.write_text("s3cret\n")
    assert env_secret("PW", environ={"PW_FILE": str(f)}) == "s3cret"


def test_env_secret_refuses_both_and_missing_or_empty_file(tmp_path):
    with pytest.raises(ConfigError, match="not both"):
        env_secret("PW", environ={"PW": "a", "PW_FILE": "/x"})
    with pytest.raises(ConfigError, match="cannot be read"):
        env_secret("PW", environ={"PW_FILE": str(tmp_path / "missing")})
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        env_secret("PW", environ={"PW_FILE": str(empty)})


def test_env_float_parses_and_checks_bounds():
    assert env_float("H", 0.3, environ={}) == 0.3
    assert env_float("H", 0.3, minimum=0, maximum=2, environ={"H": "0.45"}) == 0.45
    for bad, message in (("lots", "not a number"), ("nan", "not a finite"), ("inf", "not a finite"),
                         ("-1", "below the minimum"), ("3", "above the maximum")):  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            env_float("H", 0.3, minimum=0, maximum=2, environ={"H": bad})


def test_env_decimal_keeps_money_exact():
    assert env_decimal("M", "1", environ={}) == Decimal("1")
    assert env_decimal("M", "1", minimum="0", environ={"M": " 0.10 "}) == Decimal("0.10")
    for bad, message in (("ten", "not a decimal"), ("NaN", "not a finite"), ("-0.01", "below the minimum")):
        with pytest.raises(ConfigError, match=message):
            env_decimal("M", "1", minimum="0", environ={"M": bad})
