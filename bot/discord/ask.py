"""/ask, mentions, DMs, thread follow-ups and reply chains: questions in, answers out.

A mention opens a thread on the question, where later messages are follow-ups. Where no thread
can be opened, and in direct messages, the bot replies; replying to any of its answers (a
Discord reply, even after a restart) asks a follow-up in that conversation. Each question is
answered from the corpus of the channel it was asked in (bot/discord/corpora.py).
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer.language import detect_language, message
from bot.discord.corpora import place_ids
from bot.discord.format import Outgoing
from bot.discord.live import NO_MENTIONS, LiveReply, send_all

log = logging.getLogger("citebot.discord")


class AskCog(commands.Cog):
    """/ask, mentions, DMs, thread follow-ups and reply chains."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot  # a CitebotBot (not imported: bot.discord.bot imports this module)

    @app_commands.command(name="ask", description="Ask a question about the indexed news articles")
    @app_commands.describe(
        question="Your question, e.g. Par quel moyen de transport Kim Jong-un est-il venu en Russie ?")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        """The /ask slash command: defer at once, answer as a follow-up; a reply to the answer follows it up."""
        await interaction.response.defer(thinking=True)  # Discord wants a response within 3 s
        live = LiveReply(interaction.followup.send, wait_for_message=True)
        place = place_ids(interaction.channel, interaction.guild)
        messages, turn = await self.bot.answer(interaction.user.id, question, [], live, place)
        try:
            await live.deliver(messages)
        except discord.HTTPException:
            # Without a follow-up the user would see "thinking…" forever.
            log.exception("sending the answer to /ask failed")
            with contextlib.suppress(discord.HTTPException):
                await interaction.followup.send(message(detect_language(question), "error"),
                                                allowed_mentions=NO_MENTIONS)
        if turn is not None:  # the answer's messages open a reply chain
            self.bot.remember(interaction.id, turn, live.sent_ids)

    @staticmethod
    def _question(message: discord.Message, me: discord.ClientUser) -> str:
        """The message's text without mentions of the bot, whitespace collapsed."""
        text = re.sub(rf"<@!?{me.id}>", " ", message.content)
        return " ".join(text.split())

    def _chain(self, msg: discord.Message) -> int | None:
        """The conversation a reply to one of the bot's answers continues, or None."""
        reference = msg.reference
        if reference is None or reference.message_id is None:
            return None
        return self.bot.conversations.of_message(reference.message_id)

    @commands.Cog.listener()
    async def on_message(self, msg: discord.Message) -> None:
        """Answer mentions (in a new thread), DMs, follow-ups in the bot's threads and replies to its answers."""
        if msg.author.bot or self.bot.user is None:
            return
        in_dm = msg.guild is None
        in_our_thread = isinstance(msg.channel, discord.Thread) and msg.channel.id in self.bot.conversations
        chain = None if in_our_thread else self._chain(msg)
        if not (in_dm or in_our_thread or chain is not None or self.bot.user in msg.mentions):
            return
        if (await self.bot.get_context(msg)).valid:
            return  # a command ("@citebot sync"), run by the bot's on_message
        question = self._question(msg, self.bot.user)
        if chain is not None:  # a reply to an answer: answered as a reply, in the same conversation
            await self._follow_up(msg, question, chain, msg.reply)
        elif in_dm or in_our_thread:
            await self._follow_up(msg, question, msg.channel.id, msg.channel.send)
        else:
            await self._new_conversation(msg, question)

    async def _follow_up(self, msg: discord.Message, question: str, key: int, target) -> None:
        """Answer a question of a conversation with its history, and remember the turn."""
        history = self.bot.conversations.get(key, [])
        live = LiveReply(target)
        messages, turn = await self.bot.answer(msg.author.id, question, history, live,
                                               place_ids(msg.channel, msg.guild))
        self.bot.remember(key, turn)
        await live.deliver(messages)
        self.bot.remember(key, None, live.sent_ids)

    async def _new_conversation(self, msg: discord.Message, question: str) -> None:
        """A mention: a new thread on the question (a reply where none can be opened), then the answer."""
        place = place_ids(msg.channel, msg.guild)
        refused = self.bot.admit(msg.author.id, question, place)
        if refused:  # answered in place: a refused question opens no thread
            await send_all(msg.reply, [Outgoing(refused)])
            return
        target, thread = await self._open_thread(msg, question)
        live = LiveReply(target)
        messages, turn = await self.bot.answer_admitted(msg.author.id, question, [], live, place)
        key = thread.id if thread is not None else msg.id  # without a thread, the reply chain is the conversation
        self.bot.remember(key, turn)
        await live.deliver(messages)
        self.bot.remember(key, None, live.sent_ids)

    async def _open_thread(self, msg: discord.Message, question: str):
        """A new thread on the question, or a plain reply where threads are not possible."""
        if isinstance(msg.channel, discord.TextChannel):
            try:
                thread = await msg.create_thread(name=(question or "citebot")[:90], auto_archive_duration=1440)
                self.bot.follow(thread.id)
                return thread.send, thread
            except discord.HTTPException:  # Forbidden included: no thread permission here
                log.info("cannot create a thread in #%s; replying instead", msg.channel)
        return msg.reply, None
