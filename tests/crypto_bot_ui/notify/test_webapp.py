"""The dashboard as a Telegram Web App: Telegram's signed initData logs in the linked user, once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from bot_api.keys import RedisKeys
from crypto_bot_ui.env import NotifySettings
from crypto_bot_ui.notify.models import TelegramLink
from tests.telegram_fake import sign_init_data, user_json

pytestmark = [pytest.mark.db, pytest.mark.django_db]

TOKEN = "7000000002:AAwebapp-test-token"
LINKED, UNLINKED = 601, 602


@pytest.fixture
def telegram(settings: Any, keys: RedisKeys) -> User:
    settings.NOTIFY = NotifySettings.read({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_LOGIN_MAX_AGE": "300"})
    user = User.objects.create_user("tara", password="x")
    TelegramLink.objects.create(user=user, telegram_user_id=LINKED)
    return user


def init_data(user_id: int, *, auth_date: int | None = None, token: str = TOKEN) -> str:
    return sign_init_data({"user": user_json({"id": user_id, "first_name": "Tara", "username": "tara"}),
                           "chat_instance": "-42", "chat_type": "sender",
                           "auth_date": str(auth_date or int(time.time())), "signature": "c2lnbmF0dXJl"},
                          bot_token=token)


def sign_in(client: Client, data: str) -> Any:
    return client.post("/telegram/app/", {"init_data": data})


def test_the_page_carries_the_form_and_its_script(client: Client, telegram: User) -> None:
    page = client.get("/telegram/app/")
    assert page.status_code == 200
    assert b'id="telegram-login"' in page.content and b"notify/telegram_app.js" in page.content


def test_valid_init_data_signs_in_the_linked_user_with_their_role(client: Client, telegram: User) -> None:
    answer = sign_in(client, init_data(LINKED))
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert client.session["_auth_user_id"] == str(telegram.pk)
    page = client.get("/", follow=True)  # signed in: a dashboard, not the login form
    assert all("/accounts/login" not in url for url, _ in page.redirect_chain)


@pytest.mark.parametrize(("case", "code"), [("tampered", "bad_hash"), ("other_token", "bad_hash"),
                                            ("expired", "expired"), ("unknown", "not_linked"),
                                            ("garbage", "bad_hash")])
def test_refused_init_data_signs_in_no_one(client: Client, telegram: User, case: str, code: str) -> None:
    data = {
        "tampered": init_data(LINKED).replace("Tara", "Eve"),
        "other_token": init_data(LINKED, token="7000000003:AAanother"),
        "expired": init_data(LINKED, auth_date=int(time.time()) - 301),
        "unknown": init_data(UNLINKED),
        "garbage": "user=%7B%7D&hash=zz",
    }[case]
    answer = sign_in(client, data)
    assert answer.status_code == 403
    assert f'data-code="{code}"'.encode() in answer.content
    assert "_auth_user_id" not in client.session


def test_init_data_logs_in_once(client: Client, telegram: User) -> None:
    data = init_data(LINKED)
    assert sign_in(client, data).status_code == 302
    other = Client()
    answer = sign_in(other, data)
    assert answer.status_code == 403 and b'data-code="used"' in answer.content


def test_an_inactive_user_is_not_signed_in(client: Client, telegram: User) -> None:
    telegram.is_active = False
    telegram.save()
    assert sign_in(client, init_data(LINKED)).status_code == 403


def test_without_a_bot_token_there_is_no_telegram_sign_in(client: Client, telegram: User, settings: Any) -> None:
    settings.NOTIFY = NotifySettings.read({})
    answer = sign_in(client, init_data(LINKED))
    assert answer.status_code == 403 and b'data-code="telegram_off"' in answer.content


def test_an_admin_account_signs_in_with_its_password_only(client: Client, telegram: User) -> None:
    telegram.is_staff = True
    telegram.save()
    answer = sign_in(client, init_data(LINKED))
    assert answer.status_code == 403 and b'data-code="admin_account"' in answer.content
