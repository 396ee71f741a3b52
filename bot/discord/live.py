"""A Discord reply that grows as verified statements arrive, within Discord's edit rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import time

import discord

from bot.answer.records import Statement
from bot.discord.format import CONTENT_LIMIT, Outgoing

NO_MENTIONS = discord.AllowedMentions.none()
# Discord allows about 5 edits of a channel's messages per 5 seconds; one per second leaves room
# for the final edit and for other conversations in the same channel.
EDIT_INTERVAL = 1.0
_now = time.monotonic    # module-level so tests can run the clock
_sleep = asyncio.sleep


def embed_of(spec) -> discord.Embed:
    """A discord.Embed from its spec (title, fields, footer)."""
    embed = discord.Embed(title=spec.title)
    for name, value in spec.fields:
        embed.add_field(name=name, value=value, inline=False)
    if spec.footer:
        embed.set_footer(text=spec.footer)
    return embed


def _kwargs(out: Outgoing) -> dict:
    kwargs: dict = {"allowed_mentions": NO_MENTIONS}
    if out.embed is not None:
        kwargs["embed"] = embed_of(out.embed)
    return kwargs


async def send_all(target, messages: list[Outgoing], **extra) -> list:
    """Send through a channel, a message reply or an interaction followup, never mentioning anyone.

    Returns what `target` returned for each message (the sent messages; a followup's only with wait=True).
    """
    return [await target(content=out.content or None, **_kwargs(out), **extra) for out in messages]


class LiveReply:
    """Sends the first verified statement at once, then edits that message as more arrive."""

    def __init__(self, target, wait_for_message: bool = False) -> None:
        self.target = target            # channel.send, message.reply or interaction.followup.send
        self.wait = wait_for_message    # webhooks (interaction followups) return the message only with wait=True
        self.statements: list[str] = []
        self.message = None
        self.failed = False
        self._shown = 0
        self._text = ""
        self._last = float("-inf")
        self._task: asyncio.Task | None = None
        self.sent: list = []            # every message sent, for the conversation to know its own

    @property
    def sent_ids(self) -> list[int]:
        """The ids of the messages sent (a followup sent without waiting has none)."""
        return [m.id for m in self.sent if isinstance(getattr(m, "id", None), int)]

    def add(self, statement: Statement) -> None:
        """Called on the event loop with each verified statement."""
        self.statements.append(statement.display)
        if not self.failed and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._flush())

    def _content(self) -> str:
        text = " ".join(self.statements)
        return text if len(text) <= CONTENT_LIMIT else text[:CONTENT_LIMIT - 1] + "…"

    async def _flush(self) -> None:
        while self._shown < len(self.statements):
            wait = self._last + EDIT_INTERVAL - _now()
            if wait > 0:
                await _sleep(wait)  # statements arriving meanwhile go into the same edit
            count, content = len(self.statements), self._content()
            try:
                if self.message is None:
                    extra = {"wait": True} if self.wait else {}
                    self.message = await self.target(content=content, allowed_mentions=NO_MENTIONS, **extra)
                    self.sent.append(self.message)
                elif content != self._text:  # past the length limit the text stops changing
                    await self.message.edit(content=content, allowed_mentions=NO_MENTIONS)
            except discord.HTTPException:
                self.failed = True  # no more live edits; the final delivery sends the whole answer
                return
            finally:
                self._last = _now()
            self._shown, self._text = count, content

    async def deliver(self, messages: list[Outgoing]) -> None:
        """Replace the growing message by the final answer (text and sources), then send the rest."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        extra = {"wait": True} if self.wait else {}
        if self.message is None:
            self.sent += await send_all(self.target, messages, **extra)
            return
        first, rest = messages[0], messages[1:]
        wait = self._last + EDIT_INTERVAL - _now()
        if wait > 0:
            await _sleep(wait)
        try:
            await self.message.edit(content=first.content or None, **_kwargs(first))
        except discord.HTTPException:  # deleted meanwhile, or the interaction expired: send it anew
            rest = messages
        self.sent += await send_all(self.target, rest, **extra)
