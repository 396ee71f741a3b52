"""`citebot discord`: check the token with Discord, load the models, serve until Ctrl-C or SIGTERM.

Start-up follows discord.py's examples: logging through `discord.utils.setup_logging()`, the
dependencies (the Answerer and its AnswerService) built first and given to the bot's
constructor, async set-up in `setup_hook`, then `start()` inside `async with bot`. The token is
checked before the models load, so a bad token fails in seconds rather than after a minute of
loading. /ask is not registered here: the owner asks for it (see bot/discord/bot.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from bot.discord.bot import CitebotBot
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


async def _main(settings: Settings, token: str, progress: Progress, notify: Callable[[str], None]) -> None:
    from bot.answer.pipeline import Answerer

    with _discord_errors():
        await _check_token(token)
    answerer = await asyncio.to_thread(Answerer.open, settings, progress, notify)
    workers = parallel_questions(answerer, settings.model.llm_parallel)
    bot = CitebotBot(settings, AnswerService(answerer, settings.discord.discord_queue, workers))
    notify(f"connecting; answering in {answerer.mode} mode, {workers} at a time. Ctrl-C to stop. "
           "To register /ask, the bot's owner sends it: @<bot name> sync")
    loop = asyncio.get_running_loop()
    with _discord_errors():
        async with bot:  # closes the bot, and so stops its worker, however serving ends
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
            await bot.start(token)  # login, setup_hook, then the gateway until closed


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
