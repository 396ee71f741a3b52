"""`citebot discord`: check the token with Discord, load the models, serve until Ctrl-C or SIGTERM.

Start-up follows discord.py's examples: logging through `discord.utils.setup_logging()`, the
dependencies (the Answerer and its AnswerService, every corpus of discord_corpora, the
conversation histories in the index home) built first and given to the bot's constructor,
async set-up in `setup_hook`, then `start()` inside `async with bot`. The token is checked
before the models load, so a bad token fails in seconds rather than after a minute of loading,
and a corpus without an index fails before connecting. The commands are not registered here:
the owner asks for it (see bot/discord/bot.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from bot.discord.bot import MAX_CONVERSATIONS, CitebotBot
from bot.discord.corpora import Corpora, CorpusError, plan, require_index
from bot.discord.history import FILE_NAME, Conversations
from bot.discord.worker import AnswerService
from bot.llm.parallel import parallel_questions
from bot.settings import Settings
from index.errors import CitebotError
from index.progress import Progress
from index.secrets import redact, redact_logs


class DiscordError(CitebotError):
    """Discord refused the token or cannot be reached."""


@contextlib.contextmanager
def _discord_errors():
    """Discord's exceptions as one-line DiscordErrors."""
    import aiohttp
    import discord

    try:
        yield
    except discord.LoginFailure:
        raise DiscordError("Discord rejected the token in DISCORD_TOKEN; copy it again from the "
                           "Developer Portal (Bot > Reset Token)") from None
    except discord.PrivilegedIntentsRequired:
        raise DiscordError("enable the Message Content intent for this bot in the Developer Portal "
                           "(Bot > Privileged Gateway Intents)") from None
    except discord.HTTPException as exc:
        # Discord's text may quote the request (a proxy repeating the token): masked like any message.
        raise DiscordError(redact(f"Discord refused the request ({exc.status} {exc.text or exc})")) from None
    except (aiohttp.ClientError, OSError) as exc:
        raise DiscordError(f"cannot reach Discord ({type(exc).__name__}); check the network") from None


async def _check_token(token: str) -> None:
    """Log in over HTTP only (LoginFailure for a bad token), before any slow loading."""
    import discord

    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        await http.static_login(token)
    finally:
        await http.close()


def _open(settings: Settings, progress: Progress, notify: Callable[[str], None]) -> tuple[AnswerService, Corpora]:
    """The answering service and every corpus, opened before logging in: a bad corpus fails in one line."""
    from bot.answer.pipeline import Answerer

    routes, default = plan(settings)
    first = default or next(iter(routes.values()), None)
    if first is None:
        raise CorpusError("discord_unmapped is \"refuse\" and discord_corpora is empty: no channel would be answered")
    if first is not default:
        require_index(first, routes)  # Answerer.open would index the default corpus into an empty home
    answerer = Answerer.open(first.settings, progress, notify)  # the model, loaded once for every corpus
    workers = parallel_questions(answerer, settings.model.llm_parallel)
    service = AnswerService(answerer, settings.discord.discord_queue, workers)
    corpora = Corpora.open(settings, service, first)
    if routes:
        notify(f"{len(corpora.answerers)} corpora: " + ", ".join(
            f"{channel} -> {corpus.location}" for channel, corpus in routes.items())
            + (f"; elsewhere {default.location}" if default else "; elsewhere none (discord_unmapped = refuse)"))
    return service, corpora


async def _main(settings: Settings, token: str, progress: Progress, notify: Callable[[str], None]) -> None:
    with _discord_errors():
        await _check_token(token)
    conversations = Conversations(Path(settings.index.home) / FILE_NAME, MAX_CONVERSATIONS)
    try:
        service, corpora = await asyncio.to_thread(_open, settings, progress, notify)
        bot = CitebotBot(settings, service, corpora, conversations)
        notify(f"connecting; answering in {service.answerer.mode} mode, {service.workers} at a time. Ctrl-C to "
               "stop. To register /ask, /add and /sources, the bot's owner sends it: @<bot name> sync")
        loop = asyncio.get_running_loop()
        with _discord_errors():
            async with bot:  # closes the bot, and so stops its worker, however serving ends
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
                await bot.start(token)  # login, setup_hook, then the gateway until closed
    finally:
        conversations.close()


def _not_about_voice(record: logging.LogRecord) -> bool:
    """Drop discord.py's start-up warnings that voice is unsupported: citebot never uses voice."""
    return "voice will NOT be supported" not in str(record.msg)


def run(settings: Settings, token: str, progress: Progress, notify: Callable[[str], None]) -> None:
    """Run the bot until it is stopped; problems become DiscordError (one line, non-zero exit)."""
    import discord

    discord.utils.setup_logging()  # INFO and above, on stderr, for discord.py and citebot alike
    redact_logs()  # no log line shows the token, a key or a URL's password (index/secrets.py)
    logging.getLogger("discord.client").addFilter(_not_about_voice)
    asyncio.run(_main(settings, token, progress, notify))
