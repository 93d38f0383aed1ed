"""One bot as a web process relays it: the sockets watching it, where its stream stands (seq, run,
recent events for replays), whether it is online, and its summary for the overview."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from bot_api.errors import ContractError, TransportError
from bot_api.events import (
    STATE_CHANGE_TYPES,
    BotPresenceData,
    BotPresenceEvent,
    BotSummaryData,
    BotSummaryEvent,
    Event,
    HeartbeatData,
    HeartbeatEvent,
    encode_event,
    parse_event,
)
from bot_api.keys import RedisKeys
from bot_api.stored import StoredEvents
from crypto_bot_ui.core.bot_link import redis_client
from crypto_bot_ui.dashboard.queues import REPLAY_CHARS, REPLAY_LIMIT, Frame, Recent, Subscription
from crypto_bot_ui.dashboard.summaries import updated

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class BotFeed:
    """What the relay knows and holds for one bot, and how it hands that bot's frames out."""

    keys: RedisKeys
    subscribers: set[Subscription] = field(default_factory=set)
    bot_online: bool | None = None
    last_seq: int | None = None
    """The seq of the last bot event handed to the sockets (where a catch-up resumes)."""
    recent: Recent = field(default_factory=Recent)
    run: datetime | None = None
    """`started_at` of the last status handed to the sockets (snapshots included): the bot run."""
    refused: int = 0
    """Live events dropped because they were ahead of the bot's stored seq (forged or foreign)."""
    last_fan_out: float = float("-inf")
    """When (time.monotonic()) a frame last went to this bot's sockets: heartbeats fill the silences."""
    summary: BotSummaryData = field(default_factory=lambda: BotSummaryData(online=False))
    summary_changed: bool = True
    """The summary changed since the overview last sent it."""
    summary_read: bool = False
    """The summary was started from the bot's snapshot (once, when the registry first listed it)."""
    unwatched_since: float | None = None
    """When the last socket of this bot left (its recent events are then let go after a while)."""

    @property
    def bot_id(self) -> str:
        """The bot's id."""
        return self.keys.bot_id

    def stored(self) -> StoredEvents:
        """What Redis keeps of the bot's events (snapshot, seq, replay stream)."""
        return StoredEvents(redis_client(), self.keys)

    async def snapshot(self) -> Frame | None:
        """The bot's latest status envelope from Redis, or None if the bot never published."""
        received = await self.stored().snapshot()
        return None if received is None else Frame.of(received.event, received.raw)

    async def resync(self, *, from_memory: bool = True) -> list[Frame]:
        """The bot's snapshot, then every event published after it: a full state, in order.

        The bot writes its snapshot a few times a second, not with every event, so it may trail
        the stream; the replay brings it up to date. While the bot re-publishes a backlog (after
        Redis was away) the snapshot is ahead instead: the older events that follow are dropped
        by seq. Empty if the bot never published. `from_memory`: the replay may come from the
        recent events this relay forwarded (a socket's view); the relay's own catch-up reads Redis.
        """
        snapshot = await self.snapshot()
        if snapshot is None or snapshot.seq is None:
            return [] if snapshot is None else [snapshot]
        after = await (self.replay_since(snapshot.seq) if from_memory else self.stream_since(snapshot.seq))
        if after is None and snapshot.seq < await self.stored().stored_seq():
            # A hole after the snapshot; the bot's next event brings a fresh snapshot in that
            # case (its publish refuses to go without one).
            logger.warning("the events of %s after snapshot %d are not all in the stream", self.bot_id, snapshot.seq)
        return [snapshot, *(after or [])]

    def presence_frame(self) -> Frame | None:
        """A bot_presence frame for the current state, if known."""
        if self.bot_online is None:
            return None
        event = BotPresenceEvent(bot=self.bot_id, data=BotPresenceData(online=self.bot_online))
        return Frame(raw=encode_event(event), seq=None)

    def heartbeat_frame(self) -> Frame:
        """A heartbeat carrying the last bot seq this process handed out."""
        event = HeartbeatEvent(bot=self.bot_id, data=HeartbeatData(last_seq=self.last_seq))
        return Frame(raw=encode_event(event), seq=None)

    def summary_frame(self) -> Frame:
        """The bot's summary for overview sockets."""
        event = BotSummaryEvent(bot=self.bot_id, data=self.summary)
        return Frame.of(event, encode_event(event))

    def observe(self, event: Event) -> None:
        """Keep the summary current with one of the bot's events."""
        summary = updated(self.summary, event)
        if summary is not None and summary != self.summary:
            self.summary, self.summary_changed = summary, True

    def set_summary(self, summary: BotSummaryData) -> None:
        """Replace the summary (from the bot's snapshot, or its presence)."""
        if summary != self.summary:
            self.summary, self.summary_changed = summary, True

    def set_online(self, online: bool, last_seen: datetime | None) -> None:
        """Record the bot's presence; sockets hear of a change at once."""
        if online == self.bot_online:
            # Seen again: sent with the summary's next change, not as a change of its own.
            self.summary = self.summary.model_copy(update={"last_seen": last_seen})
            return
        self.bot_online = online
        self.set_summary(self.summary.model_copy(update={"online": online, "last_seen": last_seen}))
        frame = self.presence_frame()
        if frame is not None:
            self.fan_out(frame)

    def fan_out(self, frame: Frame) -> None:
        """Hand a frame to every socket of this bot."""
        # Every socket gets every frame, so one timestamp tells whether any socket is idle.
        self.last_fan_out = time.monotonic()
        for sub in tuple(self.subscribers):
            sub.offer(frame)

    async def on_live(self, frame: Frame, event: Event) -> bool:
        """Forward a frame from pub/sub (and follow it in the summary); a hole in the seqs before it
        is filled first, and a frame ahead of the seq the bot stored is dropped (False)."""
        if self.last_seq is not None and frame.seq is not None and frame.seq > self.last_seq + 1:
            if not await self._stored_at_least(frame.seq):
                # The bot's publish script stores the seq before it publishes: an event ahead of
                # it was not published by the bot. Forwarded (or counted in the overview), its
                # seq would make every socket drop the real events below it (a page frozen until
                # reloaded).
                self.refused += 1
                if self.refused in (1, 10, 100) or self.refused % 1000 == 0:
                    logger.warning("dropped %d event(s) of %s ahead of its stored seq (latest: %s after %s)",
                                   self.refused, self.bot_id, frame.seq, self.last_seq)
                return False
            if self.subscribers:
                # Bot seqs are consecutive on the channel: a hole means events were lost (e.g. in
                # flight when Redis died). Replay them from the stream, or resync with the snapshot.
                logger.warning("relay saw seq %s after %s of %s; catching up", frame.seq, self.last_seq,
                               self.bot_id)
                await self.catch_up()
            # Nobody watches: no socket to fill the hole for, and the summary follows this event.
        self.forward(frame)
        self.observe(event)
        return True

    async def _stored_at_least(self, seq: int) -> bool:
        """Whether the bot's stored seq has reached `seq` (True when Redis cannot say: a catch-up follows)."""
        try:
            return await self.stored().stored_seq() >= seq
        except TransportError:
            return True

    def forward(self, frame: Frame, *, event: bool = True) -> None:
        """Hand a frame to every socket; `event`: it is a stream event (a snapshot is not)."""
        if frame.is_status:
            if frame.started_at != self.run:
                self.recent.clear()  # another bot run: its numbering may have started again
            self.run = frame.started_at
        if event and (self.subscribers or self.unwatched_since is not None):
            self.recent.add(frame)
        if frame.seq is not None:
            # Never backwards: a catch-up may already have gone past this frame.
            self.last_seq = frame.seq if self.last_seq is None else max(self.last_seq, frame.seq)
        self.fan_out(frame)

    async def catch_up(self) -> None:
        """After (re)subscribing: replay the missed events if the stream has them all, else resync.
        The summary follows what was replayed."""
        try:
            missed = await self._missed_events()
            if missed is not None:
                if missed:
                    logger.info("relay replays %d event(s) of %s missed while away", len(missed), self.bot_id)
                for frame in missed:
                    self.forward(frame)
                self.observe_frames(missed)
                return
            frames = await self.resync(from_memory=False)
        except TransportError as exc:
            logger.warning("catching up with %s after subscribing failed: %s", self.bot_id, exc)
            return
        if frames and self.subscribers:
            logger.info("relay sends the snapshot of %s (seq %s) to %d socket(s)", self.bot_id, frames[0].seq,
                        len(self.subscribers))
        self.recent.clear()
        for index, frame in enumerate(frames):
            self.forward(frame, event=index > 0)
        self.observe_frames(frames)
        if frames and frames[-1].seq is not None:
            # What Redis holds is the truth now, even if behind what was forwarded before (Redis
            # came back from lossy persistence): a later event that does not follow it is then a
            # hole, and its catch-up finds the snapshot the bot writes with that event.
            self.last_seq = frames[-1].seq

    def observe_frames(self, frames: list[Frame]) -> None:
        """Follow in the summary frames that reached the sockets without the live path (a catch-up):
        every state change (statuses, the account after each fill) in order, and the newest price
        after the last status (a status resets every figure; a price carries the whole account's
        marks). Only those few are parsed again."""
        last_status = max((i for i, f in enumerate(frames) if f.is_status), default=-1)
        prices = [i for i, f in enumerate(frames) if f.type == "price_update" and i > last_status]
        for index, frame in enumerate(frames):
            if frame.type in STATE_CHANGE_TYPES or (prices and index == prices[-1]):
                try:
                    self.observe(parse_event(frame.raw))
                except ContractError:  # it was forwarded, so it parsed once: never expected
                    logger.exception("a replayed event of %s no longer parses", self.bot_id)

    async def _missed_events(self) -> list[Frame] | None:
        """Events after the last one forwarded, or None when the stream cannot supply them all."""
        if self.last_seq is None:
            return None
        return await self.stream_since(self.last_seq)

    async def replay_since(self, seq: int) -> list[Frame] | None:
        """Every bot event after `seq` for a socket: from the recent events this relay forwarded
        when they cover it, else from the Redis stream (see `stream_since`).

        Events newer than this relay has seen are not included: the socket's queue brings them.
        None (a snapshot answers) beyond REPLAY_CHARS: the stream would hold the same events.
        """
        remembered = self.recent.since(seq)
        if remembered is None:
            return await self.stream_since(seq)
        return remembered if sum(len(frame.raw) for frame in remembered) <= REPLAY_CHARS else None

    async def stream_since(self, seq: int) -> list[Frame] | None:
        """Every bot event after `seq`, in order, from the events stream (the replay window); None
        when the stream cannot supply them all within REPLAY_LIMIT and REPLAY_CHARS."""
        return await self.stored().since(seq, max_events=REPLAY_LIMIT, max_chars=REPLAY_CHARS,
                                         keep=lambda r: Frame.of(r.event, r.raw))

    def watch(self, sub: Subscription) -> None:
        """A socket starts watching this bot."""
        self.subscribers.add(sub)
        self.unwatched_since = None

    def unwatch(self, sub: Subscription) -> None:
        """A socket stops watching this bot."""
        self.subscribers.discard(sub)
        if not self.subscribers:
            self.unwatched_since = time.monotonic()

    def idle(self) -> bool:
        """Nobody watches this bot, and its recent events are let go."""
        return not self.subscribers and self.unwatched_since is None

    def let_go(self, after: float) -> None:
        """Forget the recent events once nobody watched the bot for `after` seconds: a process
        watching many bots keeps replays only for those someone looks at (the stream has the rest)."""
        if self.unwatched_since is not None and time.monotonic() - self.unwatched_since >= after:
            self.recent.clear()
            self.unwatched_since = None
