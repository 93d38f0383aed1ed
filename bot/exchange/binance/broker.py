"""Binance spot orders: MARKET with the FULL response, real fills and fees, never doubled.

Every order carries a client order id made before sending. When the answer is lost (a 5xx, a
timeout, a dropped connection: Binance says the outcome is then unknown) the broker asks for the
order by that id before anything else. It books the order if it executed; if Binance never saw
it, it counts as not placed and is never re-sent (the next signal decides afresh). So a flaky
network never buys twice, and an order whose fate stays unknown halts the bot.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from bot.broker.base import Fill
from bot.errors import (
    ExchangeError,
    ExchangeOfflineError,
    ExchangeRejectedError,
    ExchangeUnavailableError,
    OrderError,
    OrderStatusUnknownError,
    RateLimitedError,
)
from bot.exchange.binance.rest import BinanceRest
from bot.money import MONEY_STEP
from bot_api.events import Side

logger = logging.getLogger(__name__)

ORDER_NOT_FOUND = -2013
LOOKUPS = 3
"""Attempts to learn an order's fate after a lost answer (with a short pause between)."""
LOOKUP_PAUSE = 0.5
FINAL_STATUSES = frozenset({"FILLED", "CANCELED", "EXPIRED", "EXPIRED_IN_MATCH", "REJECTED"})
"""Order statuses after which nothing more executes."""


@dataclass(frozen=True)
class SymbolRules:
    """What Binance accepts for one symbol (LOT_SIZE and NOTIONAL/MIN_NOTIONAL filters)."""

    base_asset: str
    step: Decimal
    min_qty: Decimal
    min_notional: Decimal

    @classmethod
    def of(cls, info: dict[str, Any]) -> SymbolRules:
        """Read the rules from an exchangeInfo symbol entry."""
        filters = {f["filterType"]: f for f in info.get("filters", [])}
        lot = filters.get("LOT_SIZE", {})
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
        return cls(
            base_asset=str(info["baseAsset"]),
            step=Decimal(lot.get("stepSize", "0.00000001")).normalize(),
            min_qty=Decimal(lot.get("minQty", "0")),
            min_notional=Decimal(notional.get("minNotional", "0")),
        )


class BinanceBroker:
    """Places MARKET orders on Binance (testnet or live) through the guarded REST client."""

    def __init__(
        self, rest: BinanceRest, quote_asset: str, *, live: bool,
        on_balances: Callable[..., None] | None = None,
    ) -> None:
        self.name = "binance-live" if live else "binance-testnet"
        self._rest = rest
        self._quote = quote_asset
        self._rules: dict[str, SymbolRules] = {}
        self._on_balances = on_balances
        self.balances: dict[str, Decimal] = {}

    async def load_rules(self, symbols: tuple[str, ...]) -> dict[str, SymbolRules]:
        """Fetch the trading rules of `symbols`; a symbol Binance does not list is missing."""
        info = await self._rest.call("exchangeInfo", self._rest.client.get_exchange_info)
        for entry in info.get("symbols", []):
            if entry.get("symbol") in symbols and entry.get("status") == "TRADING":
                self._rules[entry["symbol"]] = SymbolRules.of(entry)
        return dict(self._rules)

    async def refresh_balances(self) -> dict[str, Decimal]:
        """The account's free balances (non-zero), from the account endpoint."""
        account = await self._rest.call("account", self._rest.client.get_account)
        self.balances = {b["asset"]: Decimal(b["free"]) for b in account.get("balances", []) if Decimal(b["free"])}
        if self._on_balances is not None:
            self._on_balances(self.balances, complete=True)
        return self.balances

    def tradable(self, symbol: str, qty: Decimal, price: Decimal) -> Decimal:
        """The part of `qty` an order can carry: rounded down to the lot step, 0 below the minimum
        quantity or notional.

        Binance takes a buy's fee from the coins bought, so a position ends in dust no order can
        sell; counting it as flat lets the strategy buy again.
        """
        rules = self._rules.get(symbol)
        if rules is None:
            return qty
        stepped = qty.quantize(rules.step, rounding=ROUND_DOWN)
        if stepped <= 0 or stepped < rules.min_qty or stepped * price < rules.min_notional:
            return Decimal(0)
        return stepped

    async def market_order(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> list[Fill]:
        """Buy or sell `qty` (rounded down to the lot step) at market; return its fills, one per fee asset."""
        rules = self._rules.get(symbol) or (await self.load_rules((symbol,))).get(symbol)
        if rules is None:
            raise OrderError(f"{symbol} is not trading on Binance")
        qty = qty.quantize(rules.step, rounding=ROUND_DOWN)
        if qty < rules.min_qty or qty * price < rules.min_notional:
            raise OrderError(f"{side.value} {qty} {symbol} is below Binance's minimum "
                             f"(qty {rules.min_qty}, notional {rules.min_notional})")
        client_id = f"cb-{uuid.uuid4().hex[:24]}"
        order = await self._place(symbol, side, qty, client_id)
        fills = await self._fills(order, rules)
        try:
            await self.refresh_balances()
        except ExchangeError as exc:
            logger.warning("balances not refreshed after %s: %s", client_id, exc)
        return fills

    async def _place(self, symbol: str, side: Side, qty: Decimal, client_id: str) -> dict[str, Any]:
        try:
            order: dict[str, Any] = await self._rest.call(
                "order", self._rest.client.create_order, symbol=symbol, side=side.value.upper(),
                type="MARKET", quantity=f"{qty:f}", newOrderRespType="FULL", newClientOrderId=client_id,
            )
            return order
        except (RateLimitedError, ExchangeRejectedError):
            raise  # answered: the order was refused, nothing executed
        except ExchangeOfflineError as exc:
            if not exc.sent:
                raise  # never left: nothing can have executed
            logger.warning("order %s: answer lost (%s); looking it up", client_id, exc)
        except ExchangeUnavailableError as exc:
            logger.warning("order %s: answer lost (%s); looking it up", client_id, exc)
        # Never sent again: Binance accepts a reused client id once the first order is done, so a
        # resend could fill twice. An order not found after every lookup counts as not placed.
        found = await self._lookup(symbol, client_id)
        if found is None:
            raise ExchangeUnavailableError(f"order {client_id} was not placed (Binance does not know it)")
        return found

    async def _lookup(self, symbol: str, client_id: str) -> dict[str, Any] | None:
        """The order with its fills if Binance has it; None if every lookup says it does not exist.

        Raises OrderStatusUnknownError when its fate cannot be learnt (the engine then halts).
        """
        missing = 0
        for attempt in range(LOOKUPS):
            await asyncio.sleep(LOOKUP_PAUSE * (attempt + 1))  # an order in flight may not be visible yet
            try:
                order = await self._rest.call(
                    "order lookup", self._rest.client.get_order, symbol=symbol, origClientOrderId=client_id
                )
                if order.get("status") not in FINAL_STATUSES:
                    logger.info("order %s is %s; looking again", client_id, order.get("status"))
                    continue
                trades = await self._rest.call(
                    "myTrades", self._rest.client.get_my_trades, symbol=symbol, orderId=order["orderId"]
                )
            except ExchangeRejectedError as exc:
                if exc.code != ORDER_NOT_FOUND:
                    raise OrderStatusUnknownError(f"order {client_id}: lookup refused: {exc}") from exc
                missing += 1
                continue
            except ExchangeUnavailableError as exc:
                logger.warning("order %s lookup %d failed: %s", client_id, attempt + 1, exc)
                continue
            listed = sum((Decimal(t["qty"]) for t in trades), Decimal(0))
            if listed < Decimal(order["executedQty"]) and attempt < LOOKUPS - 1:
                # myTrades can trail the order by a moment, and the fees are only there.
                logger.info("order %s: %s of %s executed listed so far", client_id, listed, order["executedQty"])
                continue
            found: dict[str, Any] = dict(order)
            found["fills"] = [{"price": t["price"], "qty": t["qty"], "commission": t["commission"],
                               "commissionAsset": t["commissionAsset"], "tradeId": t["id"]} for t in trades]
            return found
        if missing == LOOKUPS:
            return None
        raise OrderStatusUnknownError(f"order {client_id} on {symbol}: outcome unknown after {LOOKUPS} lookups")

    async def _fills(self, order: dict[str, Any], rules: SymbolRules) -> list[Fill]:
        """The order as fills, one per fee asset (a fee in the base asset changes what is held)."""
        executed = Decimal(order["executedQty"])
        if executed <= 0:
            raise ExchangeRejectedError(f"order {order.get('clientOrderId')} {order.get('status')}: nothing executed")
        groups: dict[str, list[dict[str, Any]]] = {}
        for part in order.get("fills") or []:
            groups.setdefault(str(part["commissionAsset"]), []).append(part)
        if not groups:
            logger.warning("order %s executed without listed fills: booked with no fee", order.get("clientOrderId"))
            groups[self._quote] = []
        base_id = f"binance-{order['symbol']}-{order['orderId']}"  # order ids are unique per symbol
        fills = []
        for asset, parts in groups.items():
            if len(groups) == 1:
                # The order's own totals are exact even when its fills list is not complete.
                qty, quote_qty, trade_id = executed, Decimal(order["cummulativeQuoteQty"]), base_id
            else:
                qty = sum((Decimal(p["qty"]) for p in parts), Decimal(0))
                quote_qty = sum((Decimal(p["qty"]) * Decimal(p["price"]) for p in parts), Decimal(0))
                quote_qty, trade_id = quote_qty.quantize(MONEY_STEP, rounding=ROUND_HALF_UP), f"{base_id}-{asset}"
            fee = sum((Decimal(p["commission"]) for p in parts), Decimal(0))
            price = (quote_qty / qty).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)
            fee_quote = None
            if asset not in (self._quote, rules.base_asset):
                fee_quote = await self._quote_value(asset, fee)
            fills.append(self._fill(order, trade_id, qty, quote_qty, price, fee, asset, fee_quote))
        return fills

    @staticmethod
    def _fill(
        order: dict[str, Any], trade_id: str, qty: Decimal, quote_qty: Decimal, price: Decimal,
        fee: Decimal, fee_asset: str, fee_quote: Decimal | None,
    ) -> Fill:
        transact = int(order.get("transactTime") or order.get("updateTime") or order.get("time") or 0)
        return Fill(
            trade_id=trade_id,
            order_id=str(order.get("clientOrderId") or order["orderId"]),
            symbol=str(order["symbol"]),
            side=Side(str(order["side"]).lower()),
            qty=qty,
            price=price,
            quote_qty=quote_qty,
            fee=fee,
            fee_asset=fee_asset,
            executed_at=datetime.fromtimestamp(transact / 1000, UTC) if transact else datetime.now(UTC),
            fee_quote=fee_quote,
        )

    async def _quote_value(self, asset: str, amount: Decimal) -> Decimal:
        """A fee paid in a third asset (BNB) at its current price in the quote asset."""
        try:
            ticker = await self._rest.call(
                "ticker", self._rest.client.get_symbol_ticker, symbol=f"{asset}{self._quote}"
            )
            return (amount * Decimal(ticker["price"])).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)
        except ExchangeError as exc:
            # The order executed: it must be booked. A fee whose value is unknown counts as 0.
            logger.warning("no %s%s price to value a fee of %s %s (%s); booked as 0",
                           asset, self._quote, amount, asset, exc)
            return Decimal(0)
