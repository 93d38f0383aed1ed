"""Closing positions on an operator's command: one symbol, or everything with a stop."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.broker.base import Fill
from bot.broker.paper import PaperBroker
from bot.errors import OrderStatusUnknownError
from bot_api.commands import BotAction, BotCommand, ClosePosition, CommandError, StopBot
from bot_api.events import BotState, Side
from tests.bot.fakes import ListSink, ScriptedStrategy, engine, tick


def command(action: BotAction) -> BotCommand:
    return BotCommand.create(action=action, command_id=action.id, bot="main", issued_by="olga",
                             ttl=timedelta(seconds=10))


async def bought(sink: ListSink, *symbols: str):  # type: ignore[no-untyped-def]
    eng = engine(ScriptedStrategy([Side.BUY] * len(symbols)), sink, ORDER_QUOTE="1000", FEE_RATE="0")
    for symbol in symbols:
        await eng.on_tick(tick(symbol, "100"))
    assert all(eng.portfolio.position_qty(s) == 10 for s in symbols)
    return eng


async def test_close_position_sells_the_whole_position_and_says_so() -> None:
    sink = ListSink()
    eng = await bought(sink, "BTCUSDT", "ETHUSDT")
    await eng.on_tick(tick("BTCUSDT", "110"))
    result = await eng.handle_command(command(ClosePosition(id="c1", symbol="BTCUSDT")))
    assert (result.ok, result.detail) == (True, "sold 10 BTCUSDT")
    sell = sink.of_type("trade_executed")[-1].data
    assert (sell.side, sell.qty, sell.realized_pnl, sell.reason) == (Side.SELL, 10, 100, "closed by olga")  # type: ignore[union-attr]
    assert eng.portfolio.position_qty("BTCUSDT") == 0 and eng.portfolio.position_qty("ETHUSDT") == 10
    assert eng.state is BotState.RUNNING  # closing one position does not stop the bot
    account = sink.of_type("portfolio")[-1]
    assert account.data.positions == {"BTCUSDT": None}  # type: ignore[union-attr]
    assert [p.symbol for p in eng.snapshot().data.positions] == ["ETHUSDT"]


async def test_closing_what_is_not_held_is_refused_plainly() -> None:
    sink = ListSink()
    eng = await bought(sink, "BTCUSDT")
    result = await eng.handle_command(command(ClosePosition(id="c2", symbol="ETHUSDT")))
    assert (result.ok, result.error) == (False, CommandError.NO_POSITION.value)
    assert len(sink.of_type("trade_executed")) == 1


async def test_stop_and_close_all_stops_first_then_sells_everything() -> None:
    sink = ListSink()
    eng = await bought(sink, "BTCUSDT", "ETHUSDT")
    result = await eng.handle_command(command(StopBot(id="c3", close_positions=True)))
    assert result.ok and result.detail == "sold 10 BTCUSDT; sold 10 ETHUSDT"
    assert eng.state is BotState.STOPPED and eng.portfolio.positions == {}
    types = [e.type for e in sink.events[-6:]]
    assert types == ["status_change", "trade_executed", "portfolio", "trade_executed", "portfolio", "bot_control"]


class LostAnswerBroker(PaperBroker):
    """Sells whose outcome can never be learnt."""

    attempts = 0

    async def market_order(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> list[Fill]:
        if side is Side.SELL:
            LostAnswerBroker.attempts += 1
            raise OrderStatusUnknownError(f"order on {symbol}: outcome unknown")
        return await super().market_order(symbol, side, qty, price)


async def test_closing_stops_at_the_first_unknown_outcome() -> None:
    sink = ListSink()
    eng = await bought(sink, "BTCUSDT", "ETHUSDT")
    eng.broker = LostAnswerBroker(Decimal(0), "USDT")
    result = await eng.handle_command(command(StopBot(id="c4", close_positions=True)))
    assert (result.ok, result.error) == (False, CommandError.ORDER_FAILED.value)
    assert "outcome unknown" in (result.detail or "") and LostAnswerBroker.attempts == 1  # nothing more sent
    assert eng.state is BotState.STOPPED
