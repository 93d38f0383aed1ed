"""Two bots in a real browser: the overview lists and follows them, a bot's page opens from it and
switches to the other without mixing their data, and a per-bot operator steers one bot only."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Page, expect

from bot_api.keys import RedisKeys
from tests.stack import Stack, delete_prefix, procfile_commands, running_stack, wait_for

BOTS = {"alpha": {"SYMBOLS": "BTCUSDT"}, "beta": {"SYMBOLS": "ETHUSDT", "STRATEGY": "mean_reversion"}}
OPAL, OPAL_PASSWORD = "opal", "opal-Pass-4-tests!"
"""Operator of alpha only (a per-bot grant), a viewer of beta."""


@pytest.fixture(scope="module")
def fleet(redis_url: str, busy: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Recorder and web (default bot: alpha), and the two busy bots."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    tmp: Path = tmp_path_factory.mktemp("fleet")
    client = redis.Redis.from_url(redis_url)
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp, services=("recorder", "web"),
                           **{**busy, "BOT_ID": "alpha"}) as stack:
            for bot_id, env in BOTS.items():
                stack.start(f"bot-{bot_id}", procfile_commands()["bot"], BOT_ID=bot_id, **env)
            for bot_id in BOTS:
                status = RedisKeys(prefix=prefix, bot_id=bot_id).status_key
                wait_for(lambda k=status: client.exists(k), 60, f"bot {bot_id}'s first status")
            stack.manage("shell", "-c", GRANT)
            yield stack
    finally:
        client.close()
        delete_prefix(redis_url, prefix)


GRANT = (
    "from django.contrib.auth.models import User; from crypto_bot_ui.trades.models import Bot; "
    f"u = User.objects.create_user({OPAL!r}, password={OPAL_PASSWORD!r}); "
    "Bot.objects.get_or_create(bot_id='alpha')[0].operators.add(u); Bot.objects.get_or_create(bot_id='beta')"
)


def row(page: Page, bot_id: str) -> str:
    return f"#bots-table tr[data-bot='{bot_id}']"


def shown_symbols(page: Page) -> set[str]:
    """Every symbol the bot's page shows anywhere: market, positions, per-symbol, trades, chart."""
    found: list[str] = page.evaluate("""() => Array.from(new Set([
        ...Array.from(document.querySelectorAll('[data-symbol]'), (n) => n.dataset.symbol),
        ...Array.from(document.querySelectorAll('[data-position]'), (n) => n.dataset.position),
        ...Array.from(document.querySelectorAll('#chart-symbol option'), (n) => n.value),
        ...Array.from(document.querySelectorAll('#trades tr td.sym'), (n) => n.textContent.trim()),
    ].filter(Boolean)))""")
    return set(found)


def test_the_overview_follows_every_bot_and_a_bots_page_switches_without_mixing(
    page: Page, fleet: Stack, log_in: Callable[..., None],
) -> None:
    log_in(page, fleet)
    expect(page).to_have_url(fleet.base_url + "/")  # two bots: the overview itself
    for bot_id in BOTS:
        expect(page.locator(row(page, bot_id))).to_be_visible(timeout=10_000)
        expect(page.locator(row(page, bot_id) + " .status-text")).to_have_text("running", timeout=10_000)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live")
    # Live: a row's figures move with the bot's prices, without a reload.
    total = page.locator(row(page, "alpha") + " .total")
    before = total.inner_text()
    page.wait_for_function("([sel, was]) => document.querySelector(sel).textContent !== was",
                           arg=[row(page, "alpha") + " .total", before], timeout=20_000)

    page.locator(row(page, "alpha") + " a").click()
    expect(page).to_have_url(fleet.base_url + "/bots/alpha/")
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=10_000)
    page.wait_for_function("() => document.querySelectorAll('#chart-symbol option').length > 0")
    assert shown_symbols(page) == {"BTCUSDT"}

    page.evaluate("() => { window.__notReloaded = true; }")
    for target, symbol in (("beta", "ETHUSDT"), ("alpha", "BTCUSDT"), ("beta", "ETHUSDT")):
        page.locator("#bot-switcher summary").click()
        page.locator(f"#bot-menu a[data-bot='{target}']").click()
        expect(page).to_have_url(f"{fleet.base_url}/bots/{target}/")
        page.wait_for_function("(s) => Array.from(document.querySelectorAll('#chart-symbol option'))"
                               ".map((o) => o.value).join() === s", arg=symbol, timeout=10_000)
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
        page.wait_for_timeout(1500)  # frames of the bot left behind would have arrived by now
        assert shown_symbols(page) == {symbol}, target
    assert page.evaluate("() => window.__notReloaded") is True  # switched in place


def test_an_operator_of_one_bot_steers_it_and_is_refused_on_the_other(
    page: Page, fleet: Stack, log_in: Callable[..., None],
) -> None:
    log_in(page, fleet, OPAL, OPAL_PASSWORD)
    page.goto(fleet.base_url + "/bots/alpha/")
    expect(page.locator("#btn-stop")).to_be_enabled(timeout=10_000)
    expect(page.locator("#role")).to_have_attribute("data-role", "operator")
    page.goto(fleet.base_url + "/bots/beta/")
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=10_000)
    expect(page.locator("#btn-stop")).to_be_disabled()
    # The server refuses it too: a stop sent over beta's socket by hand.
    answer = page.evaluate("""() => new Promise((done, fail) => {
        const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws/bots/beta/');
        ws.onopen = () => ws.send(JSON.stringify({command: 'stop_bot', id: 'by-hand'}));
        ws.onmessage = (m) => {
          for (const env of [].concat(JSON.parse(m.data))) {
            if (env.type === 'bot_control' && env.data.ref === 'by-hand') { ws.close(); done(env); }
          }
        };
        setTimeout(() => fail(new Error('no answer')), 10000);
    })""")
    assert (answer["bot"], answer["data"]["ok"], answer["data"]["error"]) == ("beta", False, "forbidden")
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running")
