"""Settings read from the environment, shared by the bot's and the web's settings models.

Both process families declare their settings as pydantic-settings models built on `EnvSettings`:
one field per variable, its env name as the alias, its default on the field and its meaning in
the field's docstring (the settings tables in README.md and docs/trading.md are generated from
them). The rules every model follows are here once:

* an empty value is the same as an unset one: the default applies (docker compose passes every
  variable through as `${NAME:-}`);
* a boolean is true/false, yes/no, on/off or 1/0, in any case (pydantic's words);
* a list is comma-separated;
* a bad value is reported as ONE line naming the variable and its rule, e.g.
  `EQUITY_INTERVAL: must be a number of seconds from 1 to 86400, got '0'` (`SettingError`).
"""

from __future__ import annotations

import ast
import inspect
import itertools
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot_api.errors import BotApiError, ContractError
from bot_api.keys import RedisKeys, validate_bot_id
from bot_api.redis_conn import RedisTarget, sentinel_address

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
"""REDIS_URL when none is set: a Redis on this machine (`make run` starts one there if none answers)."""
BOOL_WORDS = "true or false (or yes/no, on/off, 1/0)"
"""How a boolean setting is written, in any case (pydantic's words, for both process families)."""


class SettingError(BotApiError, ValueError):
    """A setting is invalid; `message` is the one line that says which and why.

    A ValueError, so that a validator may raise it to blame a setting other than its own
    (a rule spanning two settings); `EnvSettings.read` raises it for every bad value.
    """

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        self.message = f"{setting}: {problem}"
        super().__init__(self.message)


@dataclass(frozen=True)
class Unit:
    """Field metadata: the unit a number is in, said in its rule ("a number of seconds ...")."""

    name: str


@dataclass(frozen=True)
class Sensitive:
    """Field metadata: the value may be a secret (a key, a password in a URL): never quoted back."""


@dataclass(frozen=True)
class ShownDefault:
    """Field metadata: how the settings table shows a default that is computed, not a constant."""

    text: str


def split_commas(raw: object) -> object:
    """`a, b,,c` → ("a", "b", "c"); anything but a string is left to the field's type."""
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(split_commas)]
"""A comma-separated list (NoDecode: pydantic-settings would otherwise expect JSON)."""
Seconds = Annotated[float, Unit("seconds")]
"""A duration in seconds; bounds go on the field."""
WholeSeconds = Annotated[int, Unit("seconds")]
"""A whole number of seconds; bounds go on the field."""
Secret = Annotated[str, Sensitive(), StringConstraints(strip_whitespace=False)]
"""A string that errors never quote back (the field also takes repr=False)."""


def _upper(raw: object) -> object:
    return raw.upper() if isinstance(raw, str) else raw


def _lower(raw: object) -> object:
    return raw.lower() if isinstance(raw, str) else raw


LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)]
"""A logging level name, in any case."""


LOWERCASE = BeforeValidator(_lower)
"""Field metadata making a choice case-insensitive: Annotated[Literal["a", "b"], LOWERCASE]."""


def pattern(regex: str, what: str) -> AfterValidator:
    """Field metadata: the string must match `regex`, said as `what` in the error."""
    compiled = re.compile(regex)

    def check(raw: str) -> str:
        if not compiled.fullmatch(raw):
            raise ValueError(f"must be {what}")
        return raw

    return AfterValidator(check)


def _check_redis_url(raw: str) -> str:
    try:
        scheme = urlsplit(raw).scheme
    except ValueError:
        scheme = ""
    if scheme not in ("redis", "rediss", "unix"):
        # The value may hold a password, so the error shows only the scheme, not the URL.
        raise ValueError(f"must start with redis://, rediss:// or unix://, got {scheme!r}")
    return raw


def _check_sentinels(raw: tuple[str, ...]) -> tuple[str, ...]:
    for one in raw:
        sentinel_address(one)  # its ValueError says which entry is no host:port
    return raw


def _check_prefix(raw: str) -> str:
    try:
        RedisKeys(prefix=raw)
    except ContractError:
        raise ValueError("must be non-empty and contain no spaces") from None
    return raw


def _check_bot_id(raw: str) -> str:
    try:
        return validate_bot_id(raw)
    except ContractError:
        raise ValueError("must be 1-32 letters, digits, _ or -") from None


def _stripped_path(raw: object) -> object:
    if isinstance(raw, str):
        if not raw.strip():
            raise ValueError("must be a directory path")
        return raw.strip()
    return raw


def _check_dir(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise ValueError("exists and is not a directory")
    return path


RedisUrl = Annotated[str, Sensitive(), AfterValidator(_check_redis_url)]
"""A redis://, rediss:// or unix:// URL; it may carry a password, so it is never quoted back."""
Directory = Annotated[Path, BeforeValidator(_stripped_path), AfterValidator(_check_dir)]
"""A folder (created when needed): it must not be a file."""


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ  # before super().__init__, which loads the variables
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            (name if self.case_sensitive else name.lower()): value
            for name, value in self._environ.items()
            if not (self.env_ignore_empty and value == "")
        }


class EnvSettings(BaseSettings):
    """Base of every settings model: build one with `read(environ)`, which raises SettingError."""

    model_config = SettingsConfigDict(
        case_sensitive=True,
        env_ignore_empty=True,  # empty = unset: compose's `${NAME:-}` means "the default"
        frozen=True,
        extra="ignore",
        str_strip_whitespace=True,
        # Not use_attribute_docstrings: pydantic finds the source through inspect, whose module
        # scan wakes lazily imported modules (in the web process: autobahn's WAMP and numpy,
        # 15 MB). `env_fields` reads the docstrings from the file, when a table asks.
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what `read` passes in: the environment is read there, from the mapping it is given."""
        return (init_settings,)

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings in `environ` (default: os.environ), validated; SettingError names the first bad one."""
        values = _MappingEnvSource(cls, os.environ if environ is None else environ)()
        try:
            return cls(**values)
        except ValidationError as exc:
            raise first_problem(cls, exc, values) from None

    @classmethod
    def env_fields(cls) -> Iterable[tuple[str, FieldInfo]]:
        """(env name, field) of every setting, in declaration order; each field's docstring is its
        description (the settings tables' meaning column)."""
        docs = field_docstrings(cls)
        for name, field in cls.model_fields.items():
            if field.description is None and name in docs:
                field.description = docs[name]  # documentation only: validation never reads it
            yield field.alias or name, field


def field_docstrings(model: type) -> dict[str, str]:
    """The string under each annotated attribute of `model` and its bases, read from their files."""
    docs: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        module = sys.modules.get(klass.__module__)
        path = getattr(module, "__file__", None)
        if not path or not path.endswith(".py") or klass.__module__.startswith(("pydantic", "builtins")):
            continue
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == klass.__name__:
                docs.update(_attribute_docs(node.body))
    return docs


def _attribute_docs(body: list[ast.stmt]) -> dict[str, str]:
    found = {}
    for stmt, after in itertools.pairwise(body):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
            found[stmt.target.id] = inspect.cleandoc(after.value.value)
    return found


def first_problem(model: type[BaseSettings], exc: ValidationError, raw: Mapping[str, Any]) -> SettingError:
    """The first error of `exc` as one line: the variable, its rule, and its `raw` value unless it is secret."""
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    fields.update(model.model_fields)
    errors = [e for e in exc.errors(include_url=False) if e["type"] != "default_factory_not_called"]
    error = errors[0]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, SettingError):
        return cause
    loc = error["loc"]
    name = str(loc[0]) if loc else model.__name__
    field = fields.get(name)
    setting = (field.alias or name) if field is not None else name
    described = rule(field) if field is not None else None
    if isinstance(cause, ValueError):
        problem = str(cause)  # our validators' words
    elif described is not None:
        problem = described  # the rule of the type and bounds, whatever pydantic found wrong
    else:
        message = str(error["msg"])
        problem = message[:1].lower() + message[1:]
    if field is None or not any(isinstance(m, Sensitive) for m in field.metadata):
        problem = f"{problem}, got {raw.get(setting, error['input'])!r}"
    return SettingError(setting, problem)


def rule(field: FieldInfo) -> str | None:
    """What a boolean, a choice or a number must be, from its type and bounds; None for other types."""
    kind, metadata = _without_none(field.annotation), list(field.metadata)
    if get_origin(kind) is Annotated:  # `Annotated[X, Field(...)] | None`: the bounds are inside
        kind, *inner = get_args(kind)
        metadata += [m for item in inner for m in (item.metadata if isinstance(item, FieldInfo) else [item])]
    if kind is bool:
        return f"must be {BOOL_WORDS}"
    if get_origin(kind) is Literal:
        return "must be one of: " + ", ".join(str(word) for word in get_args(kind))
    if kind not in (int, float, Decimal):
        return None
    noun = "a whole number" if kind is int else "a number"
    unit = next((f" of {m.name}" for m in metadata if isinstance(m, Unit)), "")
    bounds = {key: getattr(m, key) for m in metadata for key in ("ge", "gt", "le", "lt") if hasattr(m, key)}
    if "ge" in bounds and "le" in bounds:
        return f"must be {noun}{unit} from {_number(bounds['ge'])} to {_number(bounds['le'])}"
    parts = [f"{word} {_number(bounds[key])}" for key, word in
             (("ge", "at least"), ("gt", "greater than"), ("le", "at most"), ("lt", "below")) if key in bounds]
    return f"must be {noun}{unit}" + (f" {' and '.join(parts)}" if parts else "")


def _number(value: object) -> str:
    """A bound as people write it: 86400, 0.1, 1000000000000 (no exponent, no trailing .0)."""
    return format(Decimal(str(value)).normalize(), "f")


def _without_none(annotation: Any) -> Any:
    """`X | None` → X; anything else unchanged."""
    if get_origin(annotation) in (Union, UnionType):
        kinds = [arg for arg in get_args(annotation) if arg is not NoneType]
        if len(kinds) == 1:
            return kinds[0]
    return annotation


def shown_default(field: FieldInfo) -> str:
    """A field's default as the settings table shows it (markdown)."""
    shown = next((m.text for m in field.metadata if isinstance(m, ShownDefault)), None)
    if shown is not None:
        return shown
    default = field.get_default(call_default_factory=False)
    if default is None or default in ("", ()):
        return "empty"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, tuple):
        return f"`{','.join(default)}`"
    return f"`{default}`"


class CommonSettings(EnvSettings):
    """What every process reads alike: the Redis link, the bot it serves, logging and its folder."""

    redis_url: RedisUrl = Field(DEFAULT_REDIS_URL, alias="REDIS_URL", repr=False)
    """Redis for all processes (a password in the URL is honoured, never logged). `make run` starts
    an embedded one if none answers"""
    redis_sentinels: Annotated[CommaList, AfterValidator(_check_sentinels)] = Field((), alias="REDIS_SENTINELS")
    """Redis Sentinels (`host:port`, comma-separated): every process finds the Redis master through
    them and follows a failover; REDIS_URL then gives only the password and database
    (docs/operations.md)"""
    redis_sentinel_master: Annotated[str, StringConstraints(strip_whitespace=True)] = Field(
        "", alias="REDIS_SENTINEL_MASTER")
    """the master's name the Sentinels monitor (required with REDIS_SENTINELS)"""
    redis_prefix: Annotated[str, AfterValidator(_check_prefix)] = Field("cryptobot", alias="REDIS_PREFIX")
    """prefix of every Redis key and channel"""
    bot_id: Annotated[str, AfterValidator(_check_bot_id)] = Field("main", alias="BOT_ID")
    """the bot's id, in its Redis keys and every event"""
    log_level: LogLevel = Field("INFO", alias="LOG_LEVEL")
    """log level of every process: `DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`"""
    var_dir: Directory = Field(Path("var"), alias="VAR_DIR")
    """where the bot keeps its journal (`bot-<BOT_ID>.sqlite3`: ledger, seq, state, outbox), and the
    generated secret key and the SQLite database live (relative: to the project folder)"""

    @model_validator(mode="after")
    def _sentinel_needs_master(self) -> Self:
        if self.redis_sentinels and not self.redis_sentinel_master:
            raise SettingError("REDIS_SENTINEL_MASTER", "is required with REDIS_SENTINELS")
        return self

    @property
    def keys(self) -> RedisKeys:
        """Redis names of this bot."""
        return RedisKeys(prefix=self.redis_prefix, bot_id=self.bot_id)

    @property
    def redis(self) -> RedisTarget:
        """Where this process finds Redis (through Sentinel when REDIS_SENTINELS is set)."""
        return RedisTarget(url=self.redis_url, sentinels=tuple(sentinel_address(s) for s in self.redis_sentinels),
                           master=self.redis_sentinel_master if self.redis_sentinels else "")

