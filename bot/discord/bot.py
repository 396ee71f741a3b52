"""The Discord interface: /ask, mentions, DMs and follow-ups in threads. No pipeline logic here.

The bot is given its dependencies (settings and an AnswerService over a loaded Answerer);
questions are answered on the service's worker thread while the event loop keeps Discord's
heartbeats going. What counts as a question is index.search.question.admit_question's rule, as in the
CLI and the pipeline.

Registering /ask with Discord ("syncing") is not done at each start: Discord rate-limits it
and it only matters when the command changes. After inviting the bot, and after an upgrade that
changes /ask, the bot's owner (the owner of the application in the Developer Portal, or a
member of its team) sends it, while it runs, a message that mentions it followed by "sync":

    @citebot sync

in any channel the bot can read, or in a direct message. It registers /ask in the server whose
id is CITEBOT_DISCORD_GUILD when that is set (usable there at once), else globally (can take up
to an hour to appear everywhere), and replies with what it registered or why Discord refused.
The command is ignored when anyone else sends it.
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
from bot.answer.language import detect_language, message
from bot.discord.format import Outgoing, render
from bot.discord.live import NO_MENTIONS, LiveReply, send_all
from bot.discord.worker import AnswerService, Cooldown, QueueFull
from bot.settings import Settings
from index.errors import CitebotError, InputError
from index.search.question import admit_question

log = logging.getLogger("citebot.discord")
MAX_TURNS = 10
# Conversations (threads and DMs) whose history is kept in memory; past this the least recently
# used are forgotten (a forgotten thread is no longer followed: a new mention starts a new one).
MAX_CONVERSATIONS = 1000


class CitebotBot(commands.Bot):
    """A discord.py bot that answers through an AnswerService."""

    def __init__(self, settings: Settings, service: AnswerService, *, intents: discord.Intents | None = None) -> None:
        if intents is None:
            intents = discord.Intents.default()
            intents.message_content = True  # privileged: needed to read questions addressed by mention
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, allowed_mentions=NO_MENTIONS,
                         help_command=None)
        self.settings = settings
        self.service = service
        self.cooldown = Cooldown(settings.discord.discord_cooldown)
        self.conversations: dict[int, list[Turn]] = {}  # thread or DM channel id -> turns, oldest use first

    async def setup_hook(self) -> None:
        """Start the worker and add the cogs; /ask is synced only on the owner's request."""
        self.service.start()
        await self.add_cog(AskCog(self))
        await self.add_cog(OwnerCog(self))

    async def close(self) -> None:
        """Stop the worker, then disconnect."""
        await asyncio.to_thread(self.service.stop)  # waits for the current answer off the event loop
        await super().close()

    async def on_message(self, msg: discord.Message) -> None:
        """Run commands ("@citebot sync"); any other message is for AskCog's listener, not a command."""
        if msg.author.bot:
            return
        ctx = await self.get_context(msg)
        if ctx.valid:
            await self.invoke(ctx)

    async def on_command_error(self, ctx: commands.Context, error: commands.CommandError) -> None:
        """A command from someone other than the owner is ignored; other failures are logged."""
        if isinstance(error, commands.CheckFailure):
            log.info("ignored %r from %s: not the owner", ctx.message.content, ctx.author)
            return
        log.error("command %r failed", ctx.message.content, exc_info=error)

    async def on_ready(self) -> None:
        """Log the connection."""
        log.info("logged in as %s (%s guilds)", self.user, len(self.guilds))

    async def sync_commands(self) -> tuple[list[app_commands.AppCommand], str]:
        """Register /ask with Discord: in the configured guild (at once), else globally; and where."""
        guild_id = self.settings.discord.discord_guild
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            return await self.tree.sync(guild=guild), f"in guild {guild_id}"
        return await self.tree.sync(), "globally (may take up to an hour to appear)"

    def admit(self, user_id: int, question: str) -> str | None:
        """Why the question is refused before queueing (not a question, cooldown, full queue), or None."""
        language = detect_language(question)
        limit = self.settings.retrieval.max_question_chars
        try:
            admit_question(question, limit)
        except InputError as exc:
            return _inadmissible(language, question, limit, exc)
        wait = self.cooldown.wait_time(user_id)
        if wait > 0:
            return message(language, "cooldown", seconds=max(1, round(wait)))
        if self.service.full():
            self.cooldown.release(user_id)  # not taken: the user may retry at once
            return message(language, "busy")
        return None

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
        except CitebotError as exc:  # e.g. the model server went away: one line in the log, an apology
            log.error("answering %r failed: %s", question[:80], exc)
            return [Outgoing(message(language, "error"))], None
        except Exception:
            log.exception("answering %r failed", question[:80])
            return [Outgoing(message(language, "error"))], None
        return render(answer), Turn(answer.question, answer.standalone, answer.text)

    def _conversation(self, channel_id: int) -> list[Turn]:
        """The channel's turns, now the most recently used; the least recently used past the cap are forgotten."""
        turns = self.conversations.pop(channel_id, [])
        self.conversations[channel_id] = turns
        while len(self.conversations) > MAX_CONVERSATIONS:
            del self.conversations[next(iter(self.conversations))]
        return turns

    def remember(self, channel_id: int, turn: Turn | None) -> None:
        """Add a turn to a thread's (or DM's) history, keeping the last MAX_TURNS."""
        if turn is not None:
            turns = self._conversation(channel_id)
            turns.append(turn)
            del turns[:-MAX_TURNS]

    def follow(self, channel_id: int) -> None:
        """Treat later messages in this thread as follow-ups (while it stays under the cap)."""
        self._conversation(channel_id)


def _inadmissible(language: str, question: str, limit: int, error: InputError) -> str:
    """What to say for a question admit_question refused: in the asker's language where we have the words."""
    if not question.strip():
        return message(language, "empty")
    if len(question.strip()) > limit:
        return message(language, "too_long", limit=limit)
    text = str(error)  # undecodable text, control characters
    return text[:1].upper() + text[1:] + "."


class OwnerCog(commands.Cog):
    """Commands for the bot's owner: "@citebot sync"."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot

    @commands.command(name="sync")
    @commands.is_owner()
    async def sync(self, ctx: commands.Context) -> None:
        """Register /ask with Discord and say where, or why Discord refused."""
        try:
            synced, where = await self.bot.sync_commands()
        except discord.HTTPException as exc:  # a wrong guild id, or no applications.commands scope
            log.warning("syncing application commands failed: %s %s", exc.status, exc.text or exc)
            await ctx.reply(f"Discord refused the sync ({exc.status} {exc.text or exc}); check "
                            "CITEBOT_DISCORD_GUILD and that the bot was invited with the "
                            "applications.commands scope", allowed_mentions=NO_MENTIONS)
            return
        names = ", ".join(f"/{command.name}" for command in synced) or "no commands"
        log.info("synced %s %s", names, where)
        await ctx.reply(f"Synced {names} {where}.", allowed_mentions=NO_MENTIONS)


class AskCog(commands.Cog):
    """/ask, mentions, DMs and thread follow-ups."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot

    @app_commands.command(name="ask", description="Ask a question about the indexed news articles")
    @app_commands.describe(
        question="Your question, e.g. Par quel moyen de transport Kim Jong-un est-il venu en Russie ?")
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

    @staticmethod
    def _question(message: discord.Message, me: discord.ClientUser) -> str:
        """The message's text without mentions of the bot, whitespace collapsed."""
        text = re.sub(rf"<@!?{me.id}>", " ", message.content)
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
        if (await self.bot.get_context(msg)).valid:
            return  # a command ("@citebot sync"), run by the bot's on_message
        question = self._question(msg, self.bot.user)
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
