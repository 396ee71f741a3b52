"""`citebot discord`: check the token with Discord, load the models, serve until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Callable

from bot.discord.bot import CitebotBot
from bot.discord.worker import AnswerService
from index.errors import CitebotError
from index.progress import Progress
from bot.settings import Settings


class DiscordError(CitebotError):
    """Discord refused the token or cannot be reached."""


async def _serve(bot: CitebotBot, token: str, settings: Settings, progress: Progress,
                 notify: Callable[[str], None]) -> None:
    import aiohttp
    import discord

    from bot.answer.pipeline import Answerer

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
    async with bot:
        try:
            await bot.login(token)  # fails fast, before the slow model loading; runs setup_hook
        except discord.LoginFailure:
            raise DiscordError("Discord rejected the token in DISCORD_TOKEN; copy it again from the "
                               "Developer Portal (Bot > Reset Token)") from None
        except discord.HTTPException as exc:  # slash-command sync: wrong guild id, missing scope
            raise DiscordError(f"Discord refused to register /ask ({exc.status} {exc.text or exc}); check "
                               "CITEBOT_DISCORD_GUILD and that the bot was invited with the "
                               "applications.commands scope") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise DiscordError(f"cannot reach Discord ({type(exc).__name__}); check the network") from None
        bot.service.answerer = await asyncio.to_thread(Answerer.open, settings, progress, notify)
        notify(f"connected; answering in {bot.service.answerer.mode} mode. Ctrl-C to stop")
        try:
            await bot.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            raise DiscordError("enable the Message Content intent for this bot in the Developer Portal "
                               "(Bot > Privileged Gateway Intents)") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise DiscordError(f"lost the connection to Discord ({type(exc).__name__})") from None


def run(settings: Settings, token: str, progress: Progress, notify: Callable[[str], None]) -> None:
    """Run the bot until it is stopped; problems become DiscordError (one line, non-zero exit)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord").setLevel(logging.WARNING)
    logging.getLogger("discord.client").setLevel(logging.ERROR)  # voice-support warnings: irrelevant here
    bot = CitebotBot(settings, AnswerService(None, settings.discord.discord_queue))
    asyncio.run(_serve(bot, token, settings, progress, notify))
