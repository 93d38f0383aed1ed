"""Two login limits: LOGIN_FAILURE_LIMIT for a name from one address, LOGIN_USER_FAILURE_LIMIT for
the name from any addresses; tries while locked out are not counted; a success forgets only its
own address's failures."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

pytestmark = [pytest.mark.db, pytest.mark.django_db]


def attempt(address: str, username: str, password: str) -> int:
    """One login from an address (what REMOTE_ADDR says): 302 in, 200 refused, 429 locked out."""
    response = Client(REMOTE_ADDR=address).post("/accounts/login/", {"username": username, "password": password})
    return int(response.status_code)


def test_the_limits_are_what_the_docs_say() -> None:
    assert settings.AXES_FAILURE_LIMIT == 5 and settings.LOGIN_USER_FAILURE_LIMIT == 10
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"], "username"]


def test_failures_from_many_addresses_lock_the_name_everywhere() -> None:
    User.objects.create_user("petra", password="pw-petra-right-1")
    limit = settings.LOGIN_USER_FAILURE_LIMIT
    outcomes = [attempt(f"203.0.113.{i}", "petra", "wrong") for i in range(limit)]
    assert outcomes == [200] * (limit - 1) + [429]  # no address came near the pair limit
    assert attempt("198.51.100.1", "petra", "pw-petra-right-1") == 429  # a fresh address, the right password
    User.objects.create_user("quinn", password="pw-quinn-right-1")
    assert attempt("203.0.113.1", "quinn", "pw-quinn-right-1") == 302  # other names are not affected


def test_one_address_cannot_lock_the_name_for_everyone() -> None:
    User.objects.create_user("rosa", password="pw-rosa-right-1")
    limit = settings.AXES_FAILURE_LIMIT
    outcomes = [attempt("203.0.113.9", "rosa", "wrong") for _ in range(settings.LOGIN_USER_FAILURE_LIMIT + 3)]
    assert outcomes[: limit - 1] == [200] * (limit - 1) and set(outcomes[limit - 1 :]) == {429}
    assert attempt("198.51.100.1", "rosa", "pw-rosa-right-1") == 302  # tries while locked were not counted


def test_a_success_resets_its_own_address_only() -> None:
    User.objects.create_user("sven", password="pw-sven-right-1")
    limit = settings.LOGIN_USER_FAILURE_LIMIT
    for i in range(limit - 4):
        assert attempt(f"203.0.113.{i}", "sven", "wrong") == 200
    for _ in range(2):
        assert attempt("198.51.100.1", "sven", "wrong") == 200
    assert attempt("198.51.100.1", "sven", "pw-sven-right-1") == 302  # forgets these two failures only
    outcomes = [attempt("198.51.100.2", "sven", "wrong") for _ in range(4)]
    assert outcomes == [200, 200, 200, 429]  # 6 failures from elsewhere still count: the 10th locks
