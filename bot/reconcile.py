"""Trades the recorder never got because Redis lost its data are sent to it again from the ledger.

The bot marks Redis with its journal's id. If the mark is gone once placed, Redis lost its data
(a restart without persistence) and with it any trade still waiting in the trades stream: every
ledger trade above the recorder's watermark (`recorded_seq`, raised by the recorder after each
commit and copied into the journal) is appended again. Storing is idempotent, so a trade the
recorder gets twice is stored once. The mark is checked before the watermark is read, so a
watermark raised after the loss can never hide the older trades that were lost.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from bot.journal import Journal
from bot_api.events import TradeExecutedEvent, encode_event
from bot_api.keys import EVENT_FIELD, RedisKeys
from bot_api.publisher import TRADES_STREAM_MAXLEN

logger = logging.getLogger(__name__)


async def reconcile(redis: Redis, keys: RedisKeys, journal: Journal) -> int:
    """One pass; return how many trades were sent again. Raises RedisError."""
    sent = 0
    raw = await redis.get(keys.journal_mark_key)
    mark = raw.decode() if isinstance(raw, bytes) else raw
    if mark != journal.journal_id:
        if mark is None and journal.marked_redis():
            sent = await _resend_unrecorded(redis, keys, journal)
        elif mark is not None:
            logger.warning("Redis carries another journal's mark for bot %s; taking it over", keys.bot_id)
        await redis.set(keys.journal_mark_key, journal.journal_id)
        journal.note_marked_redis()
    journal.confirm_recorded(int(await redis.get(keys.recorded_seq_key) or 0))
    return sent


async def _resend_unrecorded(redis: Redis, keys: RedisKeys, journal: Journal) -> int:
    trades = journal.unrecorded_trades()
    for seq, trade in trades:
        event = TradeExecutedEvent(seq=seq, bot=keys.bot_id, data=trade)
        await redis.xadd(
            keys.trades_stream, {EVENT_FIELD: encode_event(event)}, maxlen=TRADES_STREAM_MAXLEN, approximate=True
        )
    logger.warning("Redis lost its data: sent %d unrecorded trade(s) to the recorder again "
                   "(recorded up to seq %d)", len(trades), journal.recorded_seq())
    return len(trades)
