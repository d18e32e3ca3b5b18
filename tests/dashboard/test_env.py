import pytest

from dashboard.env import ConfigError, env_bool, env_int, env_list, env_secret, env_str

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
