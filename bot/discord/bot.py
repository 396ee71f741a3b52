"""The Discord interface: /ask, mentions, DMs and follow-ups in threads. No pipeline logic here.

The bot is given its dependencies (settings and an AnswerService); questions are answered on
the service's worker thread while the event loop keeps Discord's heartbeats going.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer.condense import Turn
from bot.discord.format import Outgoing, render
from bot.discord.live import NO_MENTIONS, LiveReply, send_all
from bot.discord.worker import AnswerService, Cooldown, QueueFull
from bot.answer.language import detect_language, message
from bot.settings import Settings

log = logging.getLogger("citebot.discord")
MAX_TURNS = 10
# Threads whose history is kept in memory; the oldest are forgotten past this (and no longer
# followed: a new mention starts a new thread).
MAX_CONVERSATIONS = 1000


class CitebotBot(commands.Bot):
    """A discord.py bot that answers through an AnswerService."""

    def __init__(self, settings: Settings, service: AnswerService, sync_commands: bool = True,
                 intents: discord.Intents | None = None) -> None:
        if intents is None:
            intents = discord.Intents.default()
            intents.message_content = True  # privileged: needed to read questions addressed by mention
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, allowed_mentions=NO_MENTIONS,
                         help_command=None)
        self.settings = settings
        self.service = service
        self.sync_commands = sync_commands
        self.cooldown = Cooldown(settings.discord.discord_cooldown)
        self.conversations: dict[int, list[Turn]] = {}  # thread or DM channel id -> turns

    async def setup_hook(self) -> None:
        """Start the worker, add the cog and sync /ask (to one guild when configured)."""
        self.service.start()
        await self.add_cog(AskCog(self))
        if not self.sync_commands:
            return
        if self.settings.discord.discord_guild:
            guild = discord.Object(id=self.settings.discord.discord_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)  # instant in that guild
        else:
            await self.tree.sync()  # global commands can take up to an hour to appear

    async def close(self) -> None:
        """Stop the worker, then disconnect."""
        await asyncio.to_thread(self.service.stop)  # waits for the current answer off the event loop
        await super().close()

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions are handled by AskCog's listener, not parsed as commands."""

    async def on_ready(self) -> None:
        """Log the connection."""
        log.info("logged in as %s (%s guilds)", self.user, len(self.guilds))

    def refusal(self, user_id: int, question: str) -> str | None:
        """Why this question is refused before queueing (too long, cooldown), or None."""
        language = detect_language(question)
        if not question.strip():
            return message(language, "empty")
        if len(question) > self.settings.retrieval.max_question_chars:
            return message(language, "too_long", limit=self.settings.retrieval.max_question_chars)
        wait = self.cooldown.wait_time(user_id)
        if wait > 0:
            return message(language, "cooldown", seconds=max(1, round(wait)))
        return None

    def admit(self, user_id: int, question: str) -> str | None:
        """Why the question cannot be taken now (refusal() or a full queue), or None."""
        refused = self.refusal(user_id, question)
        if refused is None and self.service.full():
            self.cooldown.release(user_id)  # not taken: the user may retry at once
            return message(detect_language(question), "busy")
        return refused

    async def answer(self, user_id: int, question: str, history: list[Turn],
                     live: LiveReply | None = None) -> tuple[list[Outgoing], Turn | None]:
        """Messages answering the question (or a polite refusal) and the turn to remember."""
        refused = self.admit(user_id, question)
        if refused:
            return [Outgoing(refused)], None
        return await self.answer_admitted(user_id, question, history, live)

    async def answer_admitted(self, user_id: int, question: str, history: list[Turn],
                              live: LiveReply | None = None) -> tuple[list[Outgoing], Turn | None]:
        """Like answer(), for a question admit() has already let through; `live` shows statements as they come."""
        language = detect_language(question)
        try:
            answer = await self.service.ask(question, history, live.add if live is not None else None)
        except QueueFull:
            self.cooldown.release(user_id)  # not answered: the user may retry at once
            return [Outgoing(message(language, "busy"))], None
        except Exception:
            log.exception("answering %r failed", question[:80])
            return [Outgoing(message(language, "error"))], None
        return render(answer), Turn(answer.question, answer.standalone, answer.text)

    def remember(self, channel_id: int, turn: Turn | None) -> None:
        """Add a turn to a thread's (or DM's) history, keeping the last MAX_TURNS."""
        if turn is not None:
            turns = self.conversations.setdefault(channel_id, [])
            turns.append(turn)
            del turns[:-MAX_TURNS]

    def follow(self, channel_id: int) -> None:
        """Treat later messages in this thread as follow-ups; forget the oldest threads past the cap."""
        self.conversations.setdefault(channel_id, [])
        while len(self.conversations) > MAX_CONVERSATIONS:
            del self.conversations[next(iter(self.conversations))]


class AskCog(commands.Cog):
    """/ask, mentions, DMs and thread follow-ups."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot

    @app_commands.command(name="ask", description="Ask a question about the indexed news articles")
    @app_commands.describe(question="Your question, e.g. Par quel moyen de transport Kim Jong-un est-il venu en Russie ?")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        """The /ask slash command: defer at once, answer as a follow-up."""
        await interaction.response.defer(thinking=True)  # Discord wants a response within 3 s
        live = LiveReply(interaction.followup.send, wait_for_message=True)
        messages, _ = await self.bot.answer(interaction.user.id, question, [], live)
        try:
            await live.deliver(messages)
        except discord.HTTPException:
            # Without a follow-up the user would see "thinking…" forever.
            log.exception("sending the answer to /ask failed")
            with contextlib.suppress(discord.HTTPException):
                await interaction.followup.send(message(detect_language(question), "error"),
                                                allowed_mentions=NO_MENTIONS)

    def _question(self, message: discord.Message) -> str:
        text = re.sub(rf"<@!?{self.bot.user.id}>", " ", message.content)
        return " ".join(text.split())

    @commands.Cog.listener()
    async def on_message(self, msg: discord.Message) -> None:
        """Answer mentions (in a new thread), DMs and follow-ups in the bot's threads."""
        if msg.author.bot or self.bot.user is None:
            return
        in_dm = msg.guild is None
        in_our_thread = isinstance(msg.channel, discord.Thread) and msg.channel.id in self.bot.conversations
        if not (in_dm or in_our_thread or self.bot.user in msg.mentions):
            return
        question = self._question(msg)
        if in_dm or in_our_thread:
            history = self.bot.conversations.get(msg.channel.id, [])
            live = LiveReply(msg.channel.send)
            messages, turn = await self.bot.answer(msg.author.id, question, history, live)
            self.bot.remember(msg.channel.id, turn)
            await live.deliver(messages)
            return
        refused = self.bot.admit(msg.author.id, question)
        if refused:  # answered in place: a refused question opens no thread
            await send_all(msg.reply, [Outgoing(refused)])
            return
        target, thread = await self._open_thread(msg, question)
        live = LiveReply(target)
        messages, turn = await self.bot.answer_admitted(msg.author.id, question, [], live)
        if thread is not None:
            self.bot.remember(thread.id, turn)
        await live.deliver(messages)

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
