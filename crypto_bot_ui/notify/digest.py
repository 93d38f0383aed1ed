"""One message out of one or more notifications (pure): a single one as it is, several as a digest.

A channel limited to about one message a second (Telegram per chat) gets what piled up meanwhile
as one digest; what does not fit in one message waits for the next, none is dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

TELEGRAM_LIMIT = 4096
"""Characters of one Telegram message's text."""
DEFAULT_LIMIT = 4000
HEADING_ROOM = 140
"""Characters kept for a digest's heading (`12 trades from a, b, c`, three ids of up to 32)."""
"""Characters of one message elsewhere (Apprise splits longer ones where a service needs it)."""

_PLURAL = {"trade": "trades", "state": "state changes", "exchange": "exchange changes",
           "silent": "presence changes", "daily": "daily summaries", "alert": "alerts"}


@dataclass(frozen=True)
class Item:
    """What a message needs of one notification."""

    bot: str
    kind: str
    title: str
    text: str
    link: str


@dataclass(frozen=True)
class Message:
    """A message to send and how many of the items (from the first) it carries."""

    title: str
    body: str
    count: int

    @property
    def text(self) -> str:
        """Title and body as one text (Telegram has no separate title)."""
        return f"{self.title}\n{self.body}" if self.body else self.title


def single(item: Item) -> Message:
    """One notification: its title, its text and the link to its bot's page."""
    body = item.text if item.text != item.title else ""
    if item.link:
        body = f"{body}\n{item.link}" if body else item.link
    return Message(title=item.title, body=body, count=1)


def compose(items: Sequence[Item], limit: int = DEFAULT_LIMIT) -> Message:
    """As many of `items` (from the first, at least one) as fit in `limit` characters, as one message."""
    if not items:
        raise ValueError("nothing to compose")
    first = single(items[0])
    if len(items) == 1 or len(first.text) > limit:
        return _clip(first, limit)
    count = 0
    used = HEADING_ROOM
    links: list[str] = []
    for item in items:  # as many as fit, the heading's room and the links counted
        extra = len(item.link) + 1 if item.link and item.link not in links else 0
        if count and used + len(item.title) + 3 + extra > limit:
            break
        used += len(item.title) + 3 + extra
        links += [item.link] if extra else []
        count += 1
    while True:  # the real heading is known only now: take one less until it all fits
        message = _digest(items[:count])
        if len(message.text) <= limit or count == 1:
            return message if count > 1 else first
        count -= 1


def _digest(items: Sequence[Item]) -> Message:
    lines = [f"• {item.title}" for item in items]
    links = list(dict.fromkeys(item.link for item in items if item.link))
    return Message(title=_heading(items), body="\n".join([*lines, *links]), count=len(items))


def _heading(items: Sequence[Item]) -> str:
    bots = sorted({item.bot for item in items})
    kinds = Counter(item.kind for item in items)
    what = (f"{len(items)} {_PLURAL.get(next(iter(kinds)), 'notifications')}" if len(kinds) == 1
            else f"{len(items)} notifications")
    return f"{what} from {', '.join(bots)}" if len(bots) <= 3 else f"{what} from {len(bots)} bots"


def _clip(message: Message, limit: int) -> Message:
    if len(message.text) <= limit:
        return message
    room = max(0, limit - len(message.title) - 2)
    return Message(title=message.title[:limit], body=message.body[:room - 1] + "…" if room else "", count=1)
