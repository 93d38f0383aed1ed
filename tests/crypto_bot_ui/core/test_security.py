"""Web security: login lockout after repeated failures, CSRF on every POST, a read-only API, the
production settings clean under `check --deploy`, and a clear error without a SECRET_KEY."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.test import Client

from crypto_bot_ui.trades.models import Trade
from tests.stack import ROOT

pytestmark = [pytest.mark.db, pytest.mark.django_db]


def test_repeated_failed_logins_lock_the_account_out() -> None:
    User.objects.create_user("olga", password="pw-olga-right-1")
    client = Client(REMOTE_ADDR="10.0.0.5")
    for _ in range(4):
        response = client.post("/accounts/login/", {"username": "olga", "password": "wrong"})
        assert response.status_code == 200  # the form again, with an error
    fifth = client.post("/accounts/login/", {"username": "olga", "password": "wrong"})
    assert fifth.status_code == 429  # the fifth failure locks the account out
    locked = client.post("/accounts/login/", {"username": "olga", "password": "pw-olga-right-1"})
    assert locked.status_code == 429  # even the right password is refused now
    assert "_auth_user_id" not in client.session
    elsewhere = Client(REMOTE_ADDR="10.0.0.6")  # the lock is per user and address
    assert elsewhere.post("/accounts/login/", {"username": "olga", "password": "pw-olga-right-1"}).status_code == 302


def test_every_post_needs_the_csrf_token() -> None:
    admin = User.objects.create_superuser("root", password="pw-root-12345")
    trade = Trade.objects.create(trade_id="t1", symbol="BTCUSDT", side="buy", qty=1, price=1, quote_qty=1, fee=0,
                                 fee_asset="USDT", realized_pnl=0, executed_at="2026-11-20T12:00:00Z")
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post("/accounts/login/", {"username": "root", "password": "pw-root-12345"}).status_code == 403
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    for path, data in (
        ("/accounts/logout/", {}),
        (f"/admin/trades/trade/{trade.pk}/change/", {"note": "forged"}),
        ("/admin/trades/trade/", {"action": "export_csv", "_selected_action": [trade.pk]}),
        ("/admin/auth/user/add/", {"username": "mallory", "password1": "x", "password2": "x"}),
    ):
        assert client.post(path, data).status_code == 403, path
    trade.refresh_from_db()
    assert trade.note == "" and not User.objects.filter(username="mallory").exists()


def test_the_api_is_read_only() -> None:
    client = Client()
    client.force_login(User.objects.create_user("vera", password="pw-vera-12345"))
    for path in ("/api/trades", "/api/dashboard", "/api/positions", "/api/equity", "/api/candles"):
        for method in (client.post, client.put, client.delete):
            assert method(path).status_code in (403, 405), (method, path)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_DEBUG", "TLS")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_settings_pass_check_deploy_without_a_warning(tmp_path: object) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_ENV="production",
                    SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="bot.example.com",
                    VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_without_a_secret_key_is_one_clear_line() -> None:
    result = manage("check", DJANGO_ENV="production")
    assert result.returncode == 2
    assert result.stderr.startswith("configuration error: SECRET_KEY must be set when DJANGO_ENV=production")
    assert "Traceback" not in result.stderr
    weak = manage("check", DJANGO_ENV="production", SECRET_KEY="short")
    assert weak.returncode == 2 and "50 or more random characters" in weak.stderr
