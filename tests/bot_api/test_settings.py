"""The shared settings rules: empty = default, one line per bad value, secrets never quoted back."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Self

import pytest
from pydantic import Field, model_validator

from bot_api.settings import (
    DEFAULT_REDIS_URL,
    CommaList,
    CommonSettings,
    EnvSettings,
    Seconds,
    Secret,
    SettingError,
    ShownDefault,
    pattern,
    shown_default,
)


class Example(EnvSettings):
    """A model using each kind of field."""

    flag: bool = Field(False, alias="FLAG")
    """a switch"""
    wait: Seconds = Field(5, gt=0, le=60, allow_inf_nan=False, alias="WAIT")
    """a duration"""
    count: int = Field(3, ge=1, alias="COUNT")
    """a count"""
    rate: Decimal | None = Field(None, ge=0, lt=1, alias="RATE")
    """a fraction, or none"""
    names: CommaList = Field(("a", "b"), alias="NAMES")
    """a list"""
    token: Annotated[Secret, ShownDefault("generated"), pattern(r"|.{8,}", "8 or more characters")] = Field(
        "", alias="TOKEN", repr=False)
    """a secret"""

    @model_validator(mode="after")
    def _count_within_names(self) -> Self:
        if self.count > 10 * len(self.names):
            raise SettingError("COUNT", f"must be at most 10 per name in NAMES ({len(self.names)} names)")
        return self


def problem(environ: dict[str, str]) -> str:
    with pytest.raises(SettingError) as caught:
        Example.read(environ)
    assert str(caught.value) == caught.value.message == f"{caught.value.setting}: {caught.value.problem}"
    return caught.value.message


def test_values_are_read_from_the_mapping_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNT", "7")
    assert Example.read({}).count == 3  # os.environ is read only when no mapping is given
    assert Example.read().count == 7
    read = Example.read({"FLAG": "Yes", "WAIT": " 2.5 ", "RATE": "0.25", "NAMES": "x, y ,", "TOKEN": "12345678"})
    assert (read.flag, read.wait, read.rate, read.names, read.token) == (True, 2.5, Decimal("0.25"), ("x", "y"),
                                                                          "12345678")


def test_empty_means_the_default() -> None:
    assert Example.read({env: "" for env, _ in Example.env_fields()}) == Example.read({})


@pytest.mark.parametrize(("environ", "message"), [
    ({"FLAG": "maybe"}, "FLAG: must be true or false (or yes/no, on/off, 1/0), got 'maybe'"),
    ({"WAIT": "0"}, "WAIT: must be a number of seconds greater than 0 and at most 60, got '0'"),
    ({"WAIT": "soon"}, "WAIT: must be a number of seconds greater than 0 and at most 60, got 'soon'"),
    ({"WAIT": "nan"}, "WAIT: must be a number of seconds greater than 0 and at most 60, got 'nan'"),
    ({"COUNT": "1.5"}, "COUNT: must be a whole number at least 1, got '1.5'"),
    ({"RATE": "1"}, "RATE: must be a number at least 0 and below 1, got '1'"),
    ({"COUNT": "30", "NAMES": "one"}, "COUNT: must be at most 10 per name in NAMES (1 names)"),
])
def test_one_line_names_the_setting_and_its_rule(environ: dict[str, str], message: str) -> None:
    assert problem(environ) == message


def test_a_secret_is_never_quoted_back() -> None:
    assert problem({"TOKEN": "hunter2"}) == "TOKEN: must be 8 or more characters"
    assert "hunter2" not in repr(Example.read({"TOKEN": "hunter22"}))


def test_shown_defaults() -> None:
    fields = dict(Example.env_fields())
    assert [shown_default(fields[env]) for env in ("FLAG", "WAIT", "RATE", "NAMES", "TOKEN")] == [
        "`false`", "`5`", "empty", "`a,b`", "generated"]


def test_common_settings_are_the_ones_every_process_reads() -> None:
    common = CommonSettings.read({"REDIS_PREFIX": "p", "BOT_ID": "b1", "LOG_LEVEL": "debug"})
    assert (common.redis_url, common.log_level) == (DEFAULT_REDIS_URL, "DEBUG")
    assert common.keys.heartbeat_key.startswith("p:bot:b1:")
    with pytest.raises(SettingError, match=r"^BOT_ID: must be 1-32 letters, digits, _ or -, got 'a b'$"):
        CommonSettings.read({"BOT_ID": "a b"})
