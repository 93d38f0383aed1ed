"""Mini App initData checks: Telegram's HMAC rule, its age window, its user; no database, no server."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import quote, urlencode

import pytest

from crypto_bot_ui.notify.telegram_login import (
    DEFAULT_MAX_AGE,
    FUTURE_SKEW,
    InitDataError,
    TelegramUser,
    secret_key,
    validate_init_data,
)
from tests.telegram_fake import FakeTelegram, sign_init_data, user_json

TOKEN = "123456789:AAF4keT0kenF0rTestsOnly-notARealBot00"
NOW = 1_765_000_000.0
USER = {"id": 4242, "first_name": "Ann Lee", "last_name": "", "username": "ann", "language_code": "en",
        "is_premium": True, "allows_write_to_pm": True, "photo_url": "https://t.me/i/userpic/320/a.svg"}


def init_data(token: str = TOKEN, *, auth_date: float = NOW, user: dict[str, object] | None = USER,
              **extra: str) -> str:
    """initData as a current client sends it (a `signature` field included), signed with `token`."""
    fields = {"chat_instance": "-8428209589180549439", "chat_type": "sender", "auth_date": str(int(auth_date)),
              "signature": "T8aGLlGIWqc7wWiLgMv5eGgqBgs68CM9TlzgpvFjLoNR4RBOKXjlozKDYKdyitVsUx9W1VugcLyJHkE088HDAA"}
    if user is not None:
        fields = {"user": user_json(user), **fields}
    return sign_init_data({**fields, **extra}, bot_token=token)


def refused(data: str, code: str, *, token: str = TOKEN, now: float = NOW, max_age: int = DEFAULT_MAX_AGE) -> str:
    """The message of the InitDataError `data` raises, which must have `code`."""
    with pytest.raises(InitDataError) as caught:
        validate_init_data(data, bot_token=token, max_age=max_age, now=now)
    assert caught.value.code == code, caught.value
    return caught.value.message


def test_valid() -> None:
    user = validate_init_data(init_data(), bot_token=TOKEN, max_age=DEFAULT_MAX_AGE, now=NOW)
    assert user == TelegramUser(id=4242, first_name="Ann Lee", last_name=None, username="ann", language_code="en",
                                is_premium=True, allows_write_to_pm=True,
                                photo_url="https://t.me/i/userpic/320/a.svg")


def test_known_answers_from_another_implementation() -> None:
    # Vectors from the test suite of @telegram-apps/init-data-node (Telegram-Mini-Apps/tma.js,
    # packages/init-data-node/src/entries/node.test.ts), computed by code other than ours.
    assert hmac.new(secret_key("my-secret-token"), b"abc", hashlib.sha256).hexdigest() == (
        "6ecc2e9b51f30dde6877ce374ede54eb626c84e78a5d9a9dcac54d2d248f6bde")
    data = ("auth_date=1&can_send_after=10000&chat=%7B%22id%22%3A1%2C%22type%22%3A%22group%22%2C%22title%22%3A%22"
            "chat-title%22%2C%22photo_url%22%3A%22group%22%2C%22username%22%3A%22my-chat%22%7D&chat_instance=888&"
            "chat_type=sender&hash=47cfa22e72b887cba90c9cb833c5ea0f599975b6ce7193741844b5c4a4228b40&query_id=QUERY&"
            "receiver=%7B%22added_to_attachment_menu%22%3Afalse%2C%22allows_write_to_pm%22%3Atrue%2C%22first_name"
            "%22%3A%22receiver-first-name%22%2C%22id%22%3A991%2C%22is_bot%22%3Afalse%2C%22is_premium%22%3Atrue%2C"
            "%22language_code%22%3A%22ru%22%2C%22last_name%22%3A%22receiver-last-name%22%2C%22photo_url%22%3A%22"
            "receiver-photo%22%2C%22username%22%3A%22receiver-username%22%7D&start_param=debug&user=%7B%22added_to"
            "_attachment_menu%22%3Afalse%2C%22allows_write_to_pm%22%3Afalse%2C%22first_name%22%3A%22user-first-name"
            "%22%2C%22id%22%3A222%2C%22is_bot%22%3Atrue%2C%22is_premium%22%3Afalse%2C%22language_code%22%3A%22en%22"
            "%2C%22last_name%22%3A%22user-last-name%22%2C%22photo_url%22%3A%22user-photo%22%2C%22username%22%3A%22"
            "user-username%22%7D")
    token = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"  # their example token
    user = validate_init_data(data, bot_token=token, max_age=DEFAULT_MAX_AGE, now=1 + 10)
    assert (user.id, user.username, user.first_name) == (222, "user-username", "user-first-name")
    refused(data, "bad_hash", token=token + "A", now=11)


def test_the_signature_field_is_hashed() -> None:
    # Telegram hashes `signature` with the rest (only the third-party Ed25519 check leaves it out).
    validate_init_data(init_data(), bot_token=TOKEN, max_age=DEFAULT_MAX_AGE, now=NOW)
    without = init_data().split("&")
    refused("&".join(p for p in without if not p.startswith("signature=")), "bad_hash")
    # Signed without it, then a signature added (what a validator dropping it would accept): refused.
    fields = {"user": user_json(USER), "auth_date": str(int(NOW))}
    refused(sign_init_data(fields, bot_token=TOKEN) + "&signature=abc", "bad_hash")


def test_fake_telegram_builds_what_validates() -> None:
    fake = FakeTelegram(TOKEN)  # not started: building initData needs no server
    user = validate_init_data(fake.web_app_init_data(77, username="bob", first_name="Bob", auth_date=int(NOW)),
                              bot_token=TOKEN, max_age=DEFAULT_MAX_AGE, now=NOW)
    assert (user.id, user.username, user.first_name, user.last_name) == (77, "bob", "Bob", None)


@pytest.mark.parametrize(("old", "new"), [
    ("%22id%22%3A4242", "%22id%22%3A4243"),  # another user
    ("auth_date=1765000000", "auth_date=1765000001"),
    ("chat_type=sender", "chat_type=private"),
    ("%22username%22%3A%22ann%22", "%22username%22%3A%22admin%22"),
])
def test_tampered_field(old: str, new: str) -> None:
    data = init_data()
    assert old in data
    refused(data.replace(old, new), "bad_hash")


def test_added_or_removed_field() -> None:
    refused(init_data() + "&start_param=x", "bad_hash")
    refused("&".join(p for p in init_data().split("&") if not p.startswith("chat_type=")), "bad_hash")


def test_wrong_token() -> None:
    refused(init_data("987654321:AAOtherBotTokenxxxxxxxxxxxxxxxxxxxx"), "bad_hash")


def test_hash_is_compared_exactly() -> None:
    data = init_data()
    head, digest = data.rsplit("&hash=", 1)
    refused(f"{head}&hash={digest.upper()}", "bad_hash")
    refused(f"{head}&hash={digest[:-1]}", "bad_hash")
    refused(f"{head}&hash=%C3%A9{digest[2:]}", "bad_hash")  # non-ASCII: a mismatch, not a crash
    refused(f"{head}&hash=", "bad_hash")


def test_expired_and_future() -> None:
    validate_init_data(init_data(auth_date=NOW - DEFAULT_MAX_AGE), bot_token=TOKEN, now=NOW)  # the last second
    assert "old" in refused(init_data(auth_date=NOW - DEFAULT_MAX_AGE - 1), "expired")
    assert "old" in refused(init_data(auth_date=NOW - 3600), "expired", max_age=3599)
    validate_init_data(init_data(auth_date=NOW + FUTURE_SKEW), bot_token=TOKEN, now=NOW)
    assert "ahead" in refused(init_data(auth_date=NOW + FUTURE_SKEW + 1), "expired")


def test_hash_is_checked_before_age() -> None:
    # A forged string learns nothing about the age rule: every unsigned input is bad_hash.
    refused(init_data("987654321:AAOtherBotTokenxxxxxxxxxxxxxxxxxxxx", auth_date=1), "bad_hash")


def test_no_user() -> None:
    refused(init_data(user=None), "no_user")


@pytest.mark.parametrize("data", [
    "",
    "garbage",
    "a=1&&b=2",
    "user=%7B%7D&auth_date=1",  # no hash
    "user=%FF&hash=00",  # not UTF-8
    "a=" + "x" * 20_000,
    "&".join(f"f{i}=1" for i in range(100)),
])
def test_malformed(data: str) -> None:
    refused(data, "malformed")


def test_duplicate_keys_are_malformed_even_when_signed() -> None:
    # A second auth_date: one parser would check the first, another use the last.
    refused(init_data() + f"&auth_date={int(NOW)}", "malformed")


@pytest.mark.parametrize(("field", "value"), [
    ("auth_date", "yesterday"),
    ("auth_date", "\uff11\uff17\uff16\uff15"),  # full-width digits: isdigit() but not ASCII
    ("user", "{not json"),
    ("user", "[1, 2]"),
    ("user", json.dumps({"id": True, "first_name": "x"})),
    ("user", json.dumps({"id": "4242", "first_name": "x"})),
    ("user", json.dumps({"id": 4242})),
])
def test_signed_but_malformed(field: str, value: str) -> None:
    fields = {"user": user_json(USER), "auth_date": str(int(NOW)), field: value}
    refused(sign_init_data(fields, bot_token=TOKEN), "malformed")


def test_plus_is_a_space_as_in_browsers() -> None:
    # URLSearchParams (where initData is built and read) writes a space as %20 and reads "+" as one too.
    fields = {"user": user_json(USER), "auth_date": str(int(NOW))}
    data = sign_init_data(fields, bot_token=TOKEN)
    assert "Ann%20Lee" in data
    user = validate_init_data(data.replace("Ann%20Lee", "Ann+Lee"), bot_token=TOKEN, now=NOW)
    assert user.first_name == "Ann Lee"


def test_lone_surrogate_is_a_mismatch_not_a_crash() -> None:
    refused("user=\ud800&auth_date=1&hash=" + "0" * 64, "bad_hash")


def test_empty_token_is_a_configuration_error() -> None:
    # With an empty token anyone can compute the key: never validate against it.
    forged = sign_init_data({"user": user_json(USER), "auth_date": str(int(NOW))}, bot_token="")
    with pytest.raises(ValueError, match="bot_token is empty"):
        validate_init_data(forged, bot_token="", now=NOW)
    with pytest.raises(ValueError, match="max_age"):
        validate_init_data(init_data(), bot_token=TOKEN, max_age=0, now=NOW)


def test_error_carries_code_and_message() -> None:
    error = InitDataError("expired", "too old")
    assert (error.code, error.message, str(error)) == ("expired", "too old", "expired: too old")


def test_sign_init_data_matches_telegram_encoding() -> None:
    data = sign_init_data({"user": '{"a":"b c\\/d"}', "auth_date": "1"}, bot_token=TOKEN)
    assert data.startswith("user=%7B%22a%22%3A%22b%20c%5C%2Fd%22%7D&auth_date=1&hash=")
    assert urlencode({"x": "a b"}, quote_via=quote) == "x=a%20b"
