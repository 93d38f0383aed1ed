"""`manage.py ensure_admin`: the admin from the environment, a generated password shown once."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = [pytest.mark.db, pytest.mark.django_db]


def run(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for key in ("ADMIN_USERNAME", "ADMIN_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_generated_password_is_printed_once_and_works(monkeypatch: pytest.MonkeyPatch) -> None:
    first = run(monkeypatch, ADMIN_USERNAME="boss")
    password = first.split("with password: ", 1)[1].split()[0]
    user = get_user_model().objects.get(username="boss")
    assert user.is_superuser and user.check_password(password)
    second = run(monkeypatch, ADMIN_USERNAME="boss")
    assert password not in second and "exists" in second


def test_password_from_the_environment_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    run(monkeypatch, ADMIN_USERNAME="boss", ADMIN_PASSWORD="first-Pass-1")
    out = run(monkeypatch, ADMIN_USERNAME="boss", ADMIN_PASSWORD="second-Pass-2")
    assert "Updated" in out
    assert get_user_model().objects.get(username="boss").check_password("second-Pass-2")
