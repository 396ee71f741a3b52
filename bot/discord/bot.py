"""The Discord bot: its dependencies, rate limits and conversations; the commands are in cogs.

The bot is given its dependencies, discord.py's examples' way: settings, an AnswerService over a
loaded Answerer, the corpora that answer in each channel (bot/discord/corpora.py) and the
conversation histories (bot/discord/history.py, kept in the index home so that follow-ups work
after a restart). Questions are answered on the service's worker threads while the event loop
keeps Discord's heartbeats going. What counts as a question is
index.search.question.admit_question's rule, as in the CLI and the pipeline. The commands:
/ask, mentions, threads, replies and DMs (bot/discord/ask.py); /add and /sources for members
with an admin role (bot/discord/admin.py); "@citebot sync" for the owner (OwnerCog, below).

Registering the slash commands with Discord ("syncing") is not done at each start: Discord
rate-limits it and it only matters when the commands change. After inviting the bot, and after
an upgrade that changes them, the bot's owner (the owner of the application in the Developer
Portal, or a member of its team) sends it, while it runs, a message that mentions it followed by "sync":

    @citebot sync

in any channel the bot can read, or in a direct message. It registers /ask, /add and /sources in
the server whose id is CITEBOT_DISCORD_GUILD when that is set (usable there at once), else
globally (can take up to an hour to appear everywhere), and replies with what it registered or
why Discord refused. The command is ignored when anyone else sends it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer.condense import Turn
from bot.answer.language import detect_language, message
from bot.discord.corpora import Corpora
from bot.discord.format import Outgoing, render
from bot.discord.history import Conversations
from bot.discord.limits import ChannelLimit, Cooldown
from bot.discord.live import NO_MENTIONS, LiveReply
from bot.discord.words import words
from bot.discord.worker import AnswerService, QueueFull
from bot.settings import Settings
from index.errors import CitebotError, InputError
from index.search.question import admit_question

log = logging.getLogger("citebot.discord")
# Conversations (threads, DMs, reply chains) whose history is kept; past this the least recently
# used are forgotten (a forgotten thread is no longer followed: a new mention starts a new one).
MAX_CONVERSATIONS = 1000
Place = tuple[int | None, ...]  # bot.discord.corpora.place_ids: thread, channel, category, server


class CitebotBot(commands.Bot):
    """A discord.py bot that answers through an AnswerService, each channel from its own corpus."""

    def __init__(self, settings: Settings, service: AnswerService, corpora: Corpora | None = None,
                 conversations: Conversations | None = None, *, intents: discord.Intents | None = None) -> None:
        if intents is None:
            intents = discord.Intents.default()
            intents.message_content = True  # privileged: needed to read questions addressed by mention
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, allowed_mentions=NO_MENTIONS,
                         help_command=None)
        self.settings = settings
        self.service = service
        self.corpora = corpora or Corpora.single(settings, service.answerer)
        self.cooldown = Cooldown(settings.discord.discord_cooldown)
        self.channel_limit = ChannelLimit(settings.discord.discord_channel_limit,
                                          settings.discord.discord_channel_window)
        # Thread, DM channel or reply-chain id -> turns; in memory unless given a file (run.py does).
        self.conversations = conversations if conversations is not None else Conversations(cap=MAX_CONVERSATIONS)

    async def setup_hook(self) -> None:
        """Start the worker and add the cogs; the commands are synced only on the owner's request."""
        from bot.discord.admin import AdminCog
        from bot.discord.ask import AskCog

        self.service.start()
        await self.add_cog(AskCog(self))
        await self.add_cog(AdminCog(self))
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
        """Register the slash commands with Discord: in the configured guild (at once), else globally; and where."""
        guild_id = self.settings.discord.discord_guild
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            return await self.tree.sync(guild=guild), f"in guild {guild_id}"
        return await self.tree.sync(), "globally (may take up to an hour to appear)"

    def admit(self, user_id: int, question: str, place: Place = ()) -> str | None:
        """Why the question is refused before queueing (not a question, no corpus, a limit, a full queue), or None."""
        language = detect_language(question)
        limit = self.settings.retrieval.max_question_chars
        try:
            admit_question(question, limit)
        except InputError as exc:
            return _inadmissible(language, question, limit, exc)
        if self.corpora.resolve(*place) is None:
            return words(language, "no_corpus")
        wait = self.cooldown.wait_time(user_id)
        if wait > 0:
            return message(language, "cooldown", seconds=max(1, round(wait)))
        channel = _channel(place)
        wait = self.channel_limit.wait_time(channel) if channel is not None else 0.0
        if wait > 0:
            self.cooldown.release(user_id)  # not taken: the user's own limit is not spent
            return words(language, "channel_limit", seconds=max(1, round(wait)))
        if self.service.full():
            self._release(user_id, place)
            return message(language, "busy")
        return None

    def _release(self, user_id: int, place: Place) -> None:
        """Give back the rate limits a question took that was not answered: the user may retry at once."""
        self.cooldown.release(user_id)
        channel = _channel(place)
        if channel is not None:
            self.channel_limit.release(channel)

    async def answer(self, user_id: int, question: str, history: list[Turn],
                     live: LiveReply | None = None, place: Place = ()) -> tuple[list[Outgoing], Turn | None]:
        """Messages answering the question (or a polite refusal) and the turn to remember."""
        refused = self.admit(user_id, question, place)
        if refused:
            return [Outgoing(refused)], None
        return await self.answer_admitted(user_id, question, history, live, place)

    async def answer_admitted(self, user_id: int, question: str, history: list[Turn],
                              live: LiveReply | None = None, place: Place = ()) -> tuple[list[Outgoing], Turn | None]:
        """Like answer(), for a question admit() has already let through; `live` shows statements as they come."""
        language = detect_language(question)
        corpus = self.corpora.resolve(*place)
        if corpus is None:  # admit() said so already; kept for callers that did not ask it
            return [Outgoing(words(language, "no_corpus"))], None
        try:
            answer = await self.service.ask(question, history, live.add if live is not None else None,
                                            answerer=self.corpora.answerer(corpus))
        except QueueFull:
            self._release(user_id, place)
            return [Outgoing(message(language, "busy"))], None
        except CitebotError as exc:  # e.g. the model server went away: one line in the log, an apology
            log.error("answering %r failed: %s", question[:80], exc)
            return [Outgoing(message(language, "error"))], None
        except Exception:
            log.exception("answering %r failed", question[:80])
            return [Outgoing(message(language, "error"))], None
        return render(answer), Turn(answer.question, answer.standalone, answer.text)

    def remember(self, key: int, turn: Turn | None, messages: Iterable[int] = ()) -> None:
        """Add a turn (if any) and the bot's messages to a conversation, which is now followed."""
        self.conversations.remember(key, turn, messages)

    def follow(self, key: int) -> None:
        """Treat later messages in this thread as follow-ups (while it stays under the cap)."""
        self.conversations.follow(key)


def _channel(place: Place) -> int | None:
    """The channel a question counts against: a thread's counts against its channel."""
    return (place[1] or place[0]) if len(place) > 1 else (place[0] if place else None)


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
