"""Trades the recorder never got because Redis lost them are sent to it again from the ledger.

Redis loses data in two ways. A restart without persistence loses everything: the bot marks
Redis with its journal's id, and a mark gone once placed says so. A failover loses the last
writes: Sentinel promotes a replica, and asynchronous replication may not have brought it the
newest trades, while the mark (old) is there. So the bot also remembers the server (its run id)
it last took the recorder's watermark from: another server means a failover (or a restart,
whatever its persistence), and whatever might have been lost is sent again.

In both cases every ledger trade above the recorder's watermark as last confirmed (`recorded_seq`,
raised by the recorder after each commit and copied into the journal) is appended again.
Storing is idempotent, so a trade the recorder gets twice is stored once. The mark, the watermark
and the server's id are read in one transaction, and the trades are sent before the new
server's watermark is taken: a watermark raised after the loss can never hide older lost trades.
"""

from __future__ import annotations

import logging

from bot.journal import Journal
from bot_api.events import TradeExecutedEvent
from bot_api.publisher import EventPublisher

logger = logging.getLogger(__name__)

LOST = "Redis lost its data"
MOVED = "the Redis master changed"


async def reconcile(publisher: EventPublisher, journal: Journal) -> int:
    """One pass; return how many trades were sent again. Raises TransportError (retryable)."""
    sent = 0
    mark, watermark, server = await publisher.reconcile_view()
    known = journal.redis_server()
    if mark != journal.journal_id:
        if mark is None and journal.marked_redis():
            sent = await _resend_unrecorded(publisher, journal, LOST)
        elif mark is not None:
            logger.warning("Redis carries another journal's mark for this bot; taking it over")
        await publisher.mark_journal(journal.journal_id)
        journal.note_marked_redis()
    elif known is not None and server != known:
        # The mark survived, so this is a replica promoted by a failover (or a restart with
        # persistence): the newest writes may not have reached it.
        sent = await _resend_unrecorded(publisher, journal, MOVED)
    if server != known:
        journal.note_redis_server(server)
    journal.confirm_recorded(watermark)
    return sent


async def _resend_unrecorded(publisher: EventPublisher, journal: Journal, why: str) -> int:
    trades = journal.unrecorded_trades()
    for seq, trade in trades:
        await publisher.rerecord(TradeExecutedEvent(seq=seq, bot=publisher.bot_id, data=trade))
    if trades or why == LOST:
        logger.warning("%s: sent %d unrecorded trade(s) to the recorder again (recorded up to seq %d)",
                       why, len(trades), journal.recorded_seq())
    return len(trades)
