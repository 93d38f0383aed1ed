"""Check the `initData` a Telegram Mini App hands its page, as Telegram documents, and read its user.

Rule (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
parse initData as a query string (values percent-decoded); take out `hash`; the data-check-string
is every other received field as `key=value`, sorted by key, joined with "\\n";
secret_key = HMAC-SHA256(key="WebAppData", msg=bot_token); the data is Telegram's iff
hex(HMAC-SHA256(key=secret_key, msg=data_check_string)) equals `hash`.

The `signature` field (added in Bot API 8.0 for checks by third parties, with Telegram's Ed25519
key) stays IN the data-check-string of this HMAC check: the docs name only `hash` as left out here,
and only the third-party method leaves out both `hash` and `signature`
(https://core.telegram.org/bots/webapps#validating-data-for-third-party-use). Checked on data a
real Telegram client sent (December 2025, published in a public repository with its bot token): its
hash matches with `signature` in the string and not without it. aiogram's check_webapp_signature
also removes only `hash`. Dropping `signature` would reject every current client.

Only the user is returned; the caller (the login view) decides what that user may do.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

ErrorCode = Literal["malformed", "bad_hash", "expired", "no_user"]

DEFAULT_MAX_AGE = 300
"""Seconds an initData stays acceptable. A Mini App logs in right when it opens (Telegram creates a
fresh initData at each opening), so minutes cover a slow network; the string is a bearer credential
for as long as it is accepted (a leaked log line or URL fragment is a login), so not hours."""

FUTURE_SKEW = 60
"""Seconds auth_date may be ahead of this server's clock (Telegram's clock sets it, not ours)."""

MAX_LENGTH = 16_384
"""Longest initData read. Real ones are well under 2 KB; this bounds the work on junk."""

MAX_FIELDS = 64


class InitDataError(Exception):
    """initData refused; `code` is stable (for the caller's answer and logs), `message` says why."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: ErrorCode = code
        self.message = message


@dataclass(frozen=True, slots=True)
class TelegramUser:
    """The `user` object of a checked initData (https://core.telegram.org/bots/webapps#webappuser)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool = False
    allows_write_to_pm: bool = False
    photo_url: str | None = None


def secret_key(bot_token: str) -> bytes:
    """HMAC-SHA256 of the bot token keyed with "WebAppData": the key initData hashes are made with."""
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    """The fields (without `hash`) as `key=value` lines sorted by key, as Telegram hashes them."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields))


def validate_init_data(
    init_data: str, *, bot_token: str, max_age: int = DEFAULT_MAX_AGE, now: float | None = None
) -> TelegramUser:
    """The user of `init_data` if Telegram signed it for `bot_token` within `max_age` s, else InitDataError."""
    if not bot_token.strip():
        # An empty token makes the key a public constant: anyone could sign. A configuration error,
        # never the client's, so not an InitDataError.
        raise ValueError("bot_token is empty")
    if max_age <= 0:
        raise ValueError("max_age must be positive")
    fields = _parse(init_data)
    received = fields.pop("hash", None)
    if received is None:
        raise InitDataError("malformed", "no hash field")
    # surrogatepass: a lone surrogate (never in Telegram's data) must end as a mismatch, not a crash.
    check = data_check_string(fields).encode("utf-8", "surrogatepass")
    expected = hmac.new(secret_key(bot_token), check, hashlib.sha256).hexdigest()
    # Compared as bytes (compare_digest refuses non-ASCII str); a hash is hex, so non-ASCII is a mismatch.
    if not received.isascii() or not hmac.compare_digest(expected.encode(), received.encode()):
        raise InitDataError("bad_hash", "hash does not match the data and the bot token")
    # Everything below is Telegram's own data (the hash matched); checks are for age and shape.
    _check_age(fields.get("auth_date"), max_age, time.time() if now is None else now)
    raw_user = fields.get("user")
    if raw_user is None:
        raise InitDataError("no_user", "initData carries no user (the Mini App was not opened by a user)")
    return _user(raw_user)


def _parse(init_data: str) -> dict[str, str]:
    if not init_data or len(init_data) > MAX_LENGTH:
        raise InitDataError("malformed", f"initData is empty or longer than {MAX_LENGTH} characters")
    try:
        # strict: a piece without "=" or with bad percent-encoding is an error, not silently skipped or
        # replaced (what was hashed must be what is read); blank values were signed too, so kept.
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True, errors="strict",
                          max_num_fields=MAX_FIELDS)
    except ValueError as exc:  # UnicodeDecodeError is one
        raise InitDataError("malformed", f"not a query string: {exc}") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        # Telegram never repeats a field; with two, parsers disagree on which one counts (first or last),
        # so the value checked and the value used could differ.
        raise InitDataError("malformed", "a field appears more than once")
    return fields


def _check_age(raw: str | None, max_age: int, now: float) -> None:
    if raw is None or not raw.isascii() or not raw.isdigit():
        raise InitDataError("malformed", "auth_date is missing or not a Unix time")
    age = now - int(raw)
    if age > max_age:
        raise InitDataError("expired", f"initData is {int(age)} s old (at most {max_age} s accepted)")
    if age < -FUTURE_SKEW:
        raise InitDataError("expired", f"auth_date is {int(-age)} s ahead of this server's clock")


def _user(raw: str) -> TelegramUser:
    try:
        data = json.loads(raw)
    except ValueError:
        raise InitDataError("malformed", "user is not JSON") from None
    if not isinstance(data, dict):
        raise InitDataError("malformed", "user is not a JSON object")
    user_id, first_name = data.get("id"), data.get("first_name")
    # bool is an int in Python; `"id": true` is not a user id.
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise InitDataError("malformed", "user.id is not a positive integer")
    if not isinstance(first_name, str):
        raise InitDataError("malformed", "user.first_name is not a string")
    return TelegramUser(
        id=user_id,
        first_name=first_name,
        last_name=_optional_str(data, "last_name"),
        username=_optional_str(data, "username"),
        language_code=_optional_str(data, "language_code"),
        is_premium=data.get("is_premium") is True,
        allows_write_to_pm=data.get("allows_write_to_pm") is True,
        photo_url=_optional_str(data, "photo_url"),
    )


def _optional_str(data: dict[str, object], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None
