"""The web's settings model: the bot's rules (booleans, lists, empty = default), Django's error type."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from crypto_bot_ui.env import AdminSettings, WebSettings, load


def test_defaults_and_empty_values() -> None:
    defaults = load(WebSettings, {})
    assert (defaults.django_env, defaults.tls, defaults.behind_tls_proxy) == ("development", False, False)
    assert defaults.allowed_hosts == ("127.0.0.1", "localhost") and defaults.trusted_proxies == ()
    assert defaults.redis_url == "redis://127.0.0.1:6379/0" and defaults.ws_send_queue == 1000
    # docker compose passes every variable as ${NAME:-}: all empty is all defaults.
    assert load(WebSettings, {env: "" for env, _ in WebSettings.env_fields()}) == defaults
    assert load(AdminSettings, {"ADMIN_USERNAME": "", "ADMIN_PASSWORD": ""}).admin_username == "admin"


@pytest.mark.parametrize(("raw", "expected"), [("on", True), ("YES", True), ("1", True), ("Off", False), ("no", False)])
def test_booleans_take_the_bots_words(raw: str, expected: bool) -> None:
    assert load(WebSettings, {"DJANGO_DEBUG": raw}).django_debug is expected


def test_tls_follows_production_unless_set() -> None:
    production = load(WebSettings, {"DJANGO_ENV": "Production"})
    assert (production.django_env, production.tls, production.behind_tls_proxy) == ("production", True, True)
    plain = load(WebSettings, {"DJANGO_ENV": "production", "TLS": "false"})
    assert (plain.tls, plain.behind_tls_proxy) == (False, False)


def test_lists_are_comma_separated() -> None:
    env = load(WebSettings, {"ALLOWED_HOSTS": " bot.example.com, ,localhost", "TRUSTED_PROXIES": "10.0.0.0/8, ::1"})
    assert env.allowed_hosts == ("bot.example.com", "localhost")
    assert env.trusted_proxies == ("10.0.0.0/8", "::1")


@pytest.mark.parametrize(("env", "message"), [
    ({"DJANGO_ENV": "prod"}, "DJANGO_ENV: must be one of: development, production, got 'prod'"),
    ({"DJANGO_DEBUG": "sure"}, "DJANGO_DEBUG: must be true or false (or yes/no, on/off, 1/0), got 'sure'"),
    ({"WS_ACK_WAIT": "0"}, "WS_ACK_WAIT: must be a whole number at least 1, got '0'"),
    ({"LOGIN_FAILURE_LIMIT": "five"}, "LOGIN_FAILURE_LIMIT: must be a whole number at least 1, got 'five'"),
    ({"TRUSTED_PROXIES": "127.0.0.1, proxy.example"},
     "TRUSTED_PROXIES: 'proxy.example' is not an IP address or network, got '127.0.0.1, proxy.example'"),
    ({"REDIS_URL": "http://user:hunter2@redis"},
     "REDIS_URL: must start with redis://, rediss:// or unix://, got 'http'"),
])
def test_a_bad_value_is_one_improperly_configured_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        load(WebSettings, env)
    assert str(caught.value) == message


def test_secrets_stay_out_of_repr_and_errors() -> None:
    env = load(WebSettings, {"SECRET_KEY": "k" * 60, "DATABASE_URL": "postgres://u:pw-123@db/x"})
    assert "k" * 60 not in repr(env) and "pw-123" not in repr(env)
    assert "pw-123" not in repr(load(AdminSettings, {"ADMIN_PASSWORD": "pw-123"}))
