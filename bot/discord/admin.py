"""/add and /sources: members with an admin role grow and list their channel's corpus.

`discord_admin_roles` names the roles (names or ids) allowed; everyone else gets a polite
refusal, seen by them alone. /add takes a URL (a page or a feed, fetched as `citebot index URL`
does) or a .txt, .md or .html attachment (kept in the index home under discord-added/, where
verification reads it back); the article joins the channel's corpus in one new index
generation, published atomically, and is answerable at the next question. Both commands are
acknowledged at once (Discord's 3-second deadline) and do their work on the answering workers,
which own the embedder.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer.language import message
from bot.discord.corpora import Corpus, place_ids
from bot.discord.format import CONTENT_LIMIT
from bot.discord.live import NO_MENTIONS
from bot.discord.words import locale_language, words
from bot.discord.worker import QueueFull
from index.articles.loader import KINDS
from index.errors import CitebotError
from index.records import Article, display_path

log = logging.getLogger("citebot.discord")
ADDED_FOLDER = "discord-added"  # in the index home: the files members attached
SOURCES_MESSAGES = 5            # /sources shows at most this many messages of articles, newest first
_UNSAFE = re.compile(r"[^\w.-]+")


def may_edit(member: Any, roles: tuple[str, ...]) -> bool:
    """Whether a member holds one of `roles` (names, compared without case, or ids); never in a DM."""
    wanted = {role.casefold() for role in roles}
    return any(str(role.id) in wanted or role.name.casefold() in wanted for role in getattr(member, "roles", ()))


def saved_name(name: str, raw: bytes) -> str:
    """A safe file name for an attachment, unique by content: the same file added twice is one article."""
    stem = _UNSAFE.sub("_", Path(name).stem)[:60].strip("._") or "article"
    return f"{stem}-{hashlib.sha256(raw).hexdigest()[:12]}{Path(name).suffix.lower()}"


def _add_file(corpus: Corpus, name: str, raw: bytes, embedder: Any) -> tuple[Any, list[Article]]:
    """Keep the attachment in the index home and add it (on a worker thread)."""
    from index.builder import add_to_index

    folder = Path(corpus.settings.index.home) / ADDED_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / saved_name(name, raw)
    existed = path.exists()
    path.write_bytes(raw)
    try:
        return add_to_index(corpus.settings, [path], embedder=embedder)
    except BaseException:
        if not existed:  # not indexed: not kept either
            path.unlink(missing_ok=True)
        raise


def _add_url(corpus: Corpus, url: str, embedder: Any) -> tuple[Any, list[Article]]:
    from index.builder import add_to_index

    return add_to_index(corpus.settings, [], urls=[url], embedder=embedder)


def list_sources(answerer: Any) -> list[tuple[str, str | None, str]]:
    """(title, date, path) of every article of the corpus's live index, newest first (on a worker thread)."""
    searcher = answerer.searcher
    searcher.refresh()  # an /add or a `citebot index` since the last question
    view = searcher.reader
    rows = []
    for path in view.article_hashes():
        article = view.article(path)
        if article is not None:
            rows.append((article.title, article.date, article.path))
    rows.sort(key=lambda row: row[0].casefold())
    rows.sort(key=lambda row: row[1] or "", reverse=True)  # undated last
    return rows


def source_line(title: str, date: str | None, path: str, language: str) -> str:
    """One article of /sources: its date, its title, and its link (web) or file name."""
    shown = discord.utils.escape_markdown(" ".join(title.split())[:150])
    when = (date or "")[:10] or words(language, "undated")
    if "://" in path:
        return f"• `{when}` [{shown}](<{path}>)"
    return f"• `{when}` {shown} (`{Path(display_path(path)).name}`)"


def pages(head: str, lines: list[str], language: str) -> list[str]:
    """The lines in as few messages as fit, at most SOURCES_MESSAGES; what does not fit is counted."""
    out: list[str] = []
    current = head
    for n, line in enumerate(lines):
        if len(current) + 1 + len(line) > CONTENT_LIMIT - 40:  # room for the "and N more" line
            if len(out) + 1 == SOURCES_MESSAGES:
                current += "\n" + words(language, "sources_more", count=len(lines) - n)
                break
            out.append(current)
            current = line
        else:
            current += "\n" + line
    out.append(current)
    return out


class AdminCog(commands.Cog):
    """/add and /sources, for members with an admin role."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot  # a CitebotBot (not imported: bot.discord.bot imports this module)

    async def _editor_corpus(self, interaction: discord.Interaction, language: str) -> Corpus | None:
        """The channel's corpus when the member may edit it; else says why not and gives None."""
        roles = self.bot.settings.discord.discord_admin_roles
        refusal = None
        if not may_edit(interaction.user, roles):
            refusal = words(language, "not_allowed", roles=", ".join(roles)) if roles else words(language, "no_roles")
            log.info("refused /add or /sources to %s: no admin role", interaction.user)
        corpus = self.bot.corpora.resolve(*place_ids(interaction.channel, interaction.guild))
        if refusal is None and corpus is None:
            refusal = words(language, "no_corpus")
        if refusal is not None:
            await self._say(interaction, refusal)
            return None
        return corpus

    @staticmethod
    async def _say(interaction: discord.Interaction, text: str) -> None:
        await interaction.followup.send(content=text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="add", description="Add an article to this channel's corpus: a URL or a file")
    @app_commands.describe(url="A news page or an RSS/Atom feed (http:// or https://)",
                           file="A .txt, .md or .html article")
    @app_commands.guild_only()
    async def add(self, interaction: discord.Interaction, url: str | None = None,
                  file: discord.Attachment | None = None) -> None:
        """Add a page, a feed's articles or an attached file to the channel's corpus."""
        await interaction.response.defer(ephemeral=True, thinking=True)  # within Discord's 3 s, whatever follows
        language = locale_language(interaction.locale)
        corpus = await self._editor_corpus(interaction, language)
        if corpus is None:
            return
        refusal = self._check(url, file, corpus, language)
        if refusal is not None:
            await self._say(interaction, refusal)
            return
        embedder = self.bot.corpora.answerer(corpus).searcher.embedder
        try:
            if file is not None:
                raw = await file.read()
                report, articles = await self.bot.service.call(lambda: _add_file(corpus, file.filename, raw, embedder))
            else:
                report, articles = await self.bot.service.call(lambda: _add_url(corpus, (url or "").strip(), embedder))
        except QueueFull:
            await self._say(interaction, message(language, "busy"))
            return
        except (CitebotError, discord.HTTPException) as exc:  # nothing readable there, a site or Discord failing
            await self._say(interaction, words(language, "add_failed", reason=str(exc)))
            return
        except Exception:
            log.exception("/add failed")
            await self._say(interaction, message(language, "error"))
            return
        log.info("/add by %s to %s: %s added, %s updated", interaction.user, corpus.location, report.added,
                 report.updated)
        if not articles:
            await self._say(interaction, words(language, "unchanged"))
            return
        titles = ", ".join(f"« {discord.utils.escape_markdown(a.title[:120])} »" for a in articles[:5])
        titles += "…" if len(articles) > 5 else ""
        await self._say(interaction, words(language, "added", titles=titles, articles=report.articles))

    def _check(self, url: str | None, file: discord.Attachment | None, corpus: Corpus, language: str) -> str | None:
        """Why this /add cannot be done (none or both given, not a URL, a file of another kind or too big), or None."""
        if (url is None) == (file is None):
            return words(language, "add_what")
        if url is not None:
            parts = urlsplit(url.strip())
            return None if parts.scheme in ("http", "https") and parts.hostname else words(language, "add_url", url=url)
        assert file is not None
        if Path(file.filename).suffix.lower() not in KINDS:
            return words(language, "add_kind", name=file.filename)
        limit = corpus.settings.index.max_article_bytes
        if file.size > limit:
            return words(language, "add_big", name=file.filename, mb=f"{limit / 1e6:g}")
        return None

    @app_commands.command(name="sources", description="List the articles of this channel's corpus")
    @app_commands.guild_only()
    async def sources(self, interaction: discord.Interaction) -> None:
        """The corpus's articles with their dates and links, newest first."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        language = locale_language(interaction.locale)
        corpus = await self._editor_corpus(interaction, language)
        if corpus is None:
            return
        answerer = self.bot.corpora.answerer(corpus)
        try:
            rows = await self.bot.service.call(lambda: list_sources(answerer))
        except QueueFull:
            await self._say(interaction, message(language, "busy"))
            return
        except Exception:
            log.exception("/sources failed")
            await self._say(interaction, message(language, "error"))
            return
        if not rows:
            await self._say(interaction, words(language, "sources_empty"))
            return
        lines = [source_line(title, date, path, language) for title, date, path in rows]
        for text in pages(words(language, "sources_head", count=len(rows)), lines, language):
            await self._say(interaction, text)
