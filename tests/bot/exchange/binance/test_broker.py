"""Binance orders against the local fake: real fills and fees, and a lost answer never doubles an order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.errors import ExchangeUnavailableError, OrderError, OrderStatusUnknownError
from bot.exchange.binance.broker import BinanceBroker
from bot.exchange.binance.rest import BinanceRest
from bot.portfolio import Portfolio
from bot_api.events import Side
from tests.bot.exchange.binance.fake_binance import FakeBinance

ORDER = "/api/v3/order"


@pytest.fixture
async def broker(rest: BinanceRest) -> BinanceBroker:
    broker = BinanceBroker(rest, "USDT", live=False)
    await broker.load_rules(("BTCUSDT", "ETHUSDT"))
    return broker


async def test_a_market_buy_and_sell_book_binance_fills_and_fees(broker: BinanceBroker, fake: FakeBinance) -> None:
    [buy] = await broker.market_order("BTCUSDT", Side.BUY, Decimal("0.0153846"), Decimal("65000"))
    assert (buy.qty, buy.price, buy.quote_qty) == (Decimal("0.01538"), Decimal("65000.00"), Decimal("999.70"))
    assert (buy.fee, buy.fee_asset) == (Decimal("0.00001538"), "BTC")  # Binance takes a buy's fee in base
    assert buy.trade_id.startswith("binance-") and buy.order_id.startswith("cb-")
    assert broker.balances["BTC"] == Decimal("0.01536462")
    portfolio = Portfolio(Decimal(10000), "USDT")
    portfolio.apply(buy)
    held = portfolio.position_qty("BTCUSDT")
    assert held == Decimal("0.01536462")
    assert broker.tradable("BTCUSDT", held, Decimal(66000)) == Decimal("0.01536")  # what the lot step allows
    assert broker.tradable("BTCUSDT", held, Decimal(300)) == 0  # 4.6 USDT: below the 5 USDT minimum notional
    fake.prices["BTCUSDT"] = Decimal("66000.00")
    [sell] = await broker.market_order("BTCUSDT", Side.SELL, Decimal("0.01536"), Decimal("66000"))
    assert (sell.fee_asset, sell.fee) == ("USDT", Decimal("1.01376000"))
    portfolio.apply(sell)
    assert fake.calls(ORDER, "POST") == 2


async def test_an_order_that_executed_but_answered_502_is_booked_not_repeated(
    broker: BinanceBroker, fake: FakeBinance
) -> None:
    fake.fail(ORDER, 502, times=1, execute_first=True)
    [fill] = await broker.market_order("ETHUSDT", Side.BUY, Decimal("0.5"), Decimal("3000"))
    assert fill.qty == Decimal("0.5") and fill.fee_asset == "ETH"
    assert fake.calls(ORDER, "POST") == 1 and fake.calls(ORDER, "GET") == 1  # looked up, not resent
    assert len(fake.trades) == 1  # executed once


async def test_an_order_binance_never_saw_is_not_sent_again(broker: BinanceBroker, fake: FakeBinance) -> None:
    fake.fail(ORDER, 503, times=1)  # refused before executing
    with pytest.raises(ExchangeUnavailableError, match="not placed"):
        await broker.market_order("ETHUSDT", Side.BUY, Decimal("0.5"), Decimal("3000"))
    # Looked up until sure, never resent: a reused client id is accepted once the first order is done.
    assert fake.calls(ORDER, "POST") == 1 and fake.calls(ORDER, "GET") == 3 and fake.trades == []


async def test_an_order_whose_fate_cannot_be_learnt_stops_trading(fake: FakeBinance, rest: BinanceRest) -> None:
    broker = BinanceBroker(rest, "USDT", live=False)
    await broker.load_rules(("BTCUSDT",))
    fake.fail(ORDER, 502, times=10, execute_first=True)  # executes, then every lookup fails too
    with pytest.raises(OrderStatusUnknownError):
        await broker.market_order("BTCUSDT", Side.BUY, Decimal("0.01"), Decimal("65000"))
    assert len(fake.trades) == 1  # it did execute: the engine must not carry on as if not


async def test_orders_below_binance_minimums_are_refused_before_sending(
    broker: BinanceBroker, fake: FakeBinance
) -> None:
    with pytest.raises(OrderError):
        await broker.market_order("BTCUSDT", Side.BUY, Decimal("0.00005"), Decimal("65000"))  # 3.25 USDT < 5
    with pytest.raises(OrderError):
        await broker.market_order("DOGEUSDT", Side.BUY, Decimal(100), Decimal("0.1"))
    assert fake.calls(ORDER, "POST") == 0


async def test_a_fee_paid_in_bnb_is_valued_in_the_quote_asset(broker: BinanceBroker, fake: FakeBinance) -> None:
    fake.prices["BNBUSDT"] = Decimal("600.00")
    fake.pay_fees_in_bnb = True
    [fill] = await broker.market_order("ETHUSDT", Side.BUY, Decimal(1), Decimal(3000))
    assert (fill.fee_asset, fill.fee, fill.fee_quote) == ("BNB", Decimal("0.005"), Decimal("3.000"))
    portfolio = Portfolio(Decimal(10000), "USDT")
    portfolio.apply(fill)
    assert portfolio.position_qty("ETHUSDT") == 1 and portfolio.cash == Decimal("6997.000")


async def test_fees_in_two_assets_become_two_fills(broker: BinanceBroker, fake: FakeBinance) -> None:
    # BNB ran out half-way: the second half's fee came out of the ETH bought, which must show in the books.
    fake.prices["BNBUSDT"] = Decimal("600.00")
    fake.pay_fees_in_bnb = fake.bnb_runs_out = True
    first, second = await broker.market_order("ETHUSDT", Side.BUY, Decimal(1), Decimal(3000))
    assert (first.fee_asset, first.fee, first.fee_quote, first.qty) == ("BNB", Decimal("0.0025"), Decimal("1.5"),
                                                                        Decimal("0.5"))
    assert (second.fee_asset, second.fee, second.qty) == ("ETH", Decimal("0.0005"), Decimal("0.5"))
    assert first.trade_id != second.trade_id and first.order_id == second.order_id
    portfolio = Portfolio(Decimal(10000), "USDT")
    for fill in (first, second):
        portfolio.apply(fill)
    assert portfolio.position_qty("ETHUSDT") == fake.balances["ETH"] == Decimal("0.9995")
    assert portfolio.cash == Decimal("6998.5")


async def test_a_lookup_waits_for_the_order_to_finish_and_its_trades_to_be_listed(
    broker: BinanceBroker, fake: FakeBinance
) -> None:
    fake.fail(ORDER, 502, times=1, execute_first=True)
    fake.orders_pending, fake.trades_lag = 1, 1  # first lookup: NEW; second: trades not listed yet
    [fill] = await broker.market_order("ETHUSDT", Side.BUY, Decimal("0.5"), Decimal("3000"))
    assert (fill.qty, fill.fee, fill.fee_asset) == (Decimal("0.5"), Decimal("0.0005"), "ETH")  # the real fee
    assert fake.calls(ORDER, "POST") == 1 and fake.calls(ORDER, "GET") == 3
