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

from bot.journal import Journal
from bot_api.events import TradeExecutedEvent
from bot_api.publisher import EventPublisher

logger = logging.getLogger(__name__)


async def reconcile(publisher: EventPublisher, journal: Journal) -> int:
    """One pass; return how many trades were sent again. Raises TransportError (retryable)."""
    sent = 0
    mark = await publisher.journal_mark()
    if mark != journal.journal_id:
        if mark is None and journal.marked_redis():
            sent = await _resend_unrecorded(publisher, journal)
        elif mark is not None:
            logger.warning("Redis carries another journal's mark for this bot; taking it over")
        await publisher.mark_journal(journal.journal_id)
        journal.note_marked_redis()
    journal.confirm_recorded(await publisher.recorded_seq())
    return sent


async def _resend_unrecorded(publisher: EventPublisher, journal: Journal) -> int:
    trades = journal.unrecorded_trades()
    for seq, trade in trades:
        await publisher.rerecord(TradeExecutedEvent(seq=seq, bot=publisher.bot_id, data=trade))
    logger.warning("Redis lost its data: sent %d unrecorded trade(s) to the recorder again "
                   "(recorded up to seq %d)", len(trades), journal.recorded_seq())
    return len(trades)
