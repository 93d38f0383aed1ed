"""Messages out of notifications: one as it is, several as a digest that fits the channel's limit."""

from __future__ import annotations

import pytest

from crypto_bot_ui.notify.digest import TELEGRAM_LIMIT, Item, compose


def item(n: int, *, bot: str = "main", kind: str = "trade") -> Item:
    return Item(bot=bot, kind=kind, title=f"{bot}: bought 0.001 BTCUSDT at 65,{n:03d}.00",
                text=f"Bot {bot} bought 0.001 BTCUSDT at 65,{n:03d}.00.", link=f"https://d/bots/{bot}/")


def test_one_notification_is_its_title_text_and_link() -> None:
    message = compose([item(1)])
    assert message.count == 1
    assert message.text == "main: bought 0.001 BTCUSDT at 65,001.00\nBot main bought 0.001 BTCUSDT at 65,001.00.\n" \
                           "https://d/bots/main/"


def test_several_become_one_digest_with_each_once_and_the_link_once() -> None:
    message = compose([item(n) for n in range(1, 13)])
    assert message.count == 12
    assert message.title == "12 trades from main"
    lines = message.body.splitlines()
    assert lines[:12] == [f"• main: bought 0.001 BTCUSDT at 65,{n:03d}.00" for n in range(1, 13)]
    assert lines[12:] == ["https://d/bots/main/"]


def test_mixed_kinds_and_bots_say_so() -> None:
    message = compose([item(1), item(2, bot="eth", kind="state")])
    assert message.title == "2 notifications from eth, main"


@pytest.mark.parametrize("count", [120, 200])
def test_a_digest_takes_what_fits_the_limit_and_leaves_the_rest(count: int) -> None:
    items = [item(n) for n in range(count)]
    message = compose(items, TELEGRAM_LIMIT)
    assert len(message.text) <= TELEGRAM_LIMIT
    assert 40 < message.count < count
    assert message.body.count("• ") == message.count


def test_a_single_overlong_notification_is_clipped_to_the_limit() -> None:
    long = Item(bot="main", kind="daily", title="main: daily summary", text="x" * 9000, link="https://d/")
    message = compose([long], 4096)
    assert message.count == 1 and len(message.text) <= 4096 and message.text.endswith("…")


def test_a_digest_of_long_bot_ids_with_the_repeat_note_still_fits_telegram() -> None:
    from crypto_bot_ui.notify.channels import TelegramSender

    bots = ["a" * 32, "b" * 32, "c" * 32]
    items = [item(n, bot=bots[n % 3]) for n in range(300)]
    limit = TelegramSender.limit
    message = compose(items, limit)
    assert len(message.text) <= limit
    assert len(message.text) + len("\n(Sent again after a restart: it may have reached you already.)") <= TELEGRAM_LIMIT
