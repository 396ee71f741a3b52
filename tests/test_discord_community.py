"""One Discord bot for a community: a corpus per channel, /add and /sources for a role, rate limits,
acknowledgement within Discord's 3 seconds, and conversations that survive a restart (dpytest)."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from pathlib import Path

import discord
import discord.ext.test as dpytest
import pytest
from click.testing import CliRunner
from discord.ext.test import backend

from bot.answer.pipeline import Answerer
from bot.cli.main import cli
from bot.discord.corpora import Corpora, CorpusError, corpus_of
from bot.discord.history import Conversations
from bot.settings import Settings, load_settings
from index.builder import add_to_index, build_index
from index.errors import ConfigError, InputError
from index.search.hybrid import Searcher
from index.stores.factory import open_store

from conftest import DATA, SEEDS, ScriptedGenerator, load_questions
from discord_harness import FakeInteraction, mention, reply, say

PAGES = DATA / "news_pages"
B_PAGES = ("01-modern-fr.html", "03-jsonld-fr.html", "05-amp-fr.html", "07-paywall-fr.html", "09-opinion-fr.html")
B_QUESTIONS = [
    "Combien de vols ont été annulés à l'aéroport de Marseille ?",
    "Pourquoi des vols ont-ils été annulés à Marseille-Provence ?",
    "Jusqu'à quelle heure la bibliothèque des Champs Libres restera-t-elle ouverte ?",
    "Quelle bibliothèque de Rennes prolonge ses horaires d'ouverture ?",
    "De combien le cours du blé tendre a-t-il reculé en une semaine ?",
    "Pourquoi le prix du blé recule-t-il sur le marché européen ?",
    "Qui a remporté la huitième étape du Tour de France ?",
    "Entre quelles villes était courue la huitième étape du Tour de France ?",
    "Quelle fromagerie relance la production de morbier au lait cru ?",
    "Dans quel département se trouve la fromagerie coopérative de Poligny ?",
]
ROLE = "Rédaction"
_SOURCE = re.compile(r"`([^`]+)` \[\d+:\d+\]")


@pytest.fixture(scope="module")
def homes(tmp_path_factory, embedder):
    """Two index homes: A holds the five seed articles, B five French news pages on other subjects."""
    pages = tmp_path_factory.mktemp("pages-b")
    for name in B_PAGES:
        shutil.copy(PAGES / name, pages / name)
    a, b = tmp_path_factory.mktemp("home-a"), tmp_path_factory.mktemp("home-b")
    settings = Settings().replace(extractive=True)
    build_index(settings.replace(home=a), [SEEDS], embedder=embedder)
    build_index(settings.replace(home=b), [pages], embedder=embedder)
    return a, b


def _answerer(home: Path, embedder, **changes) -> Answerer:
    settings = Settings().replace(home=home, extractive=True, **changes)
    return Answerer(settings, Searcher.open(settings, embedder))


def _text_channels(config) -> list[discord.TextChannel]:
    return [c for c in config.channels if isinstance(c, discord.TextChannel)]


def _two_corpora(first: Answerer, second: Path, **changes):
    """Corpora for make(): channel 0 answers from `first`'s home, channel 1 from `second`, others refused."""

    def build(service, config):
        channels = _text_channels(config)
        settings = first.settings.replace(
            discord_corpora={channels[0].id: str(first.settings.index.home), channels[1].id: str(second)},
            discord_unmapped="refuse", **changes)
        return Corpora.open(settings, service, corpus_of(first.settings))

    return build


def _sources(sent) -> set[str]:
    values = [f["value"] for e in sent.embeds for f in e.get("fields", [])]
    return {Path(m.group(1)).name for value in values for m in _SOURCE.finditer(value)}


def _thread_parent(bot, thread_id: int) -> int:
    thread = bot.get_channel(thread_id) or bot.guilds[0].get_thread(thread_id)
    return thread.parent_id


# --- two channels, two corpora ---

async def test_twenty_askers_in_two_channels_are_each_answered_once_from_their_channels_corpus(
        harness, homes, embedder):
    recorder, make = harness
    home_a, home_b = homes
    first = _answerer(home_a, embedder)
    bot = await make(first.settings, first, queue=20, cooldown=30.0, members=20, channels=2,
                     corpora=_two_corpora(first, home_b))
    config = dpytest.get_config()
    channel_a, channel_b = _text_channels(config)
    a_questions = [q["question"] for q in load_questions()[:10]]
    asked = [(channel_a, q) for q in a_questions] + [(channel_b, q) for q in B_QUESTIONS]
    started = time.monotonic()
    await asyncio.gather(*(say(mention(bot, q), channel=c, member=config.members[i])
                           for i, (c, q) in enumerate(asked)))
    seconds = time.monotonic() - started
    assert len(recorder.threads) == 20  # every question admitted: one thread each
    a_files, b_files = {p.name for p in SEEDS.glob("*.txt")}, set(B_PAGES)
    cited = {channel_a.id: 0, channel_b.id: 0}
    for thread in recorder.threads:
        replies = [s for s in recorder.sent if s.channel_id == thread and s.content]
        assert len(replies) == 1, replies  # answered once: no lost and no doubled answer
        sources = _sources(replies[0])
        parent = _thread_parent(bot, thread)
        assert sources <= (a_files if parent == channel_a.id else b_files), (parent, sources)
        cited[parent] += bool(sources)
    assert cited[channel_a.id] >= 8 and cited[channel_b.id] >= 8, cited  # answered from their corpus, not abstained
    print(f"20 askers in 2 channels answered in {seconds:.1f} s; with sources: {cited}")


async def test_a_question_about_the_other_corpus_is_never_answered_from_it(harness, homes, embedder):
    recorder, make = harness
    home_a, home_b = homes
    first = _answerer(home_a, embedder)
    bot = await make(first.settings, first, channels=2, corpora=_two_corpora(first, home_b))
    channel_a, channel_b = _text_channels(dpytest.get_config())
    await say(mention(bot, "Combien de vols ont été annulés à l'aéroport de Marseille ?"), channel=channel_a)
    await say(mention(bot, "Qui est le conseiller diplomatique de Vladimir Poutine ?"), channel=channel_b, member=1)
    in_a, in_b = (next(s for s in recorder.sent if s.channel_id == t) for t in recorder.threads)
    assert not _sources(in_a) & set(B_PAGES) and "quatre cents" not in in_a.content
    assert not _sources(in_b) & {p.name for p in SEEDS.glob("*.txt")} and "Ouchakov" not in in_b.content


async def test_a_channel_without_a_corpus_is_refused_politely_and_the_model_is_not_asked(harness, homes, embedder):
    recorder, make = harness
    home_a, home_b = homes
    first = _answerer(home_a, embedder)
    asked = []
    real_ask = first.ask
    first.ask = lambda *args, **kwargs: asked.append(args) or real_ask(*args, **kwargs)
    bot = await make(first.settings, first, channels=3, corpora=_two_corpora(first, home_b))
    elsewhere = _text_channels(dpytest.get_config())[2]
    await say(mention(bot, "Qui est John Kirby ?"), channel=elsewhere)
    await say(mention(bot, "Who is John Kirby?"), channel=elsewhere, member=1)
    assert not recorder.threads and asked == []
    assert "aucun corpus" in recorder.sent[-2].content and "no corpus" in recorder.sent[-1].content
    interaction = FakeInteraction(channel=elsewhere)
    cog = bot.get_cog("AskCog")
    await cog.ask.callback(cog, interaction, "Qui est John Kirby ?")
    assert interaction.deferred and "aucun corpus" in interaction.followups[-1]["content"]


# --- rate limits ---

async def test_a_busy_channel_is_told_politely_in_the_askers_language_and_other_channels_go_on(
        harness, homes, embedder):
    recorder, make = harness
    home_a, home_b = homes
    first = _answerer(home_a, embedder)
    bot = await make(first.settings, first, channels=2, corpora=_two_corpora(first, home_b),
                     discord_channel_limit=2, discord_channel_window=600)
    channel_a, channel_b = _text_channels(dpytest.get_config())
    await say(mention(bot, "Qui est John Kirby ?"), channel=channel_a, member=0)
    thread = bot.guilds[0].get_thread(recorder.threads[0])
    await say("Et Vladimir Poutine ?", channel=thread, member=0)  # a follow-up in a thread counts for its channel
    await say(mention(bot, "Qui est Kim Jong-un ?"), channel=channel_a, member=1)
    assert "Beaucoup de questions dans ce salon" in recorder.sent[-1].content
    await say(mention(bot, "Who accompanies Putin on his trip?"), channel=channel_a, member=2)
    assert "This channel is asking a lot of questions" in recorder.sent[-1].content
    assert len(recorder.threads) == 1  # refused questions open no thread
    assert bot.cooldown.wait_time(1) == 0  # the refused member's own limit was not spent
    await say(mention(bot, "Combien de vols ont été annulés à Marseille ?"), channel=channel_b, member=3)
    assert len(recorder.threads) == 2 and recorder.sent[-1].channel_id == recorder.threads[1]


async def test_a_user_asking_again_too_soon_is_told_to_wait_in_english_too(harness, homes, embedder):
    recorder, make = harness
    first = _answerer(homes[0], embedder)
    bot = await make(first.settings, first, cooldown=60.0)
    await say(mention(bot, "Who is John Kirby?"), member=0)
    await say(mention(bot, "Who is Vladimir Putin?"), member=0)
    assert "Please wait" in recorder.sent[-1].content and len(recorder.threads) == 1


# --- /add and /sources, for a role ---

@pytest.fixture
def small_home(tmp_path, embedder):
    """A writable home of two news pages: the corpus /add grows."""
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in B_PAGES[:2]:
        shutil.copy(PAGES / name, pages / name)
    home = tmp_path / "home-c"
    build_index(Settings().replace(home=home), [pages], embedder=embedder)
    return home


def _articles(home: Path) -> set[str]:
    return set(open_store(Settings().replace(home=home)).open_live().article_hashes())


async def _editor(member):
    role = discord.utils.get(member.guild.roles, name=ROLE) or backend.make_role(ROLE, member.guild)
    await dpytest.add_role(member, role)
    return member.guild.get_member(member.id)


async def test_a_member_without_the_role_cannot_add_nor_list_and_is_told_politely(harness, homes, small_home,
                                                                                   embedder):
    _, make = harness
    first = _answerer(homes[0], embedder)
    bot = await make(first.settings, first, channels=2, corpora=_two_corpora(first, small_home),
                     discord_admin_roles=[ROLE])
    channel = _text_channels(dpytest.get_config())[1]
    member = dpytest.get_config().members[0]
    before = _articles(small_home)
    cog = bot.get_cog("AdminCog")
    add = FakeInteraction(user=member, channel=channel)
    await cog.add.callback(cog, add, None, backend.make_attachment(SEEDS / "000_cd6188a8f69be30f.txt"))
    listing = FakeInteraction(user=member, channel=channel, locale="en-US")
    await cog.sources.callback(cog, listing)
    assert add.deferred == [{"ephemeral": True, "thinking": True}]
    assert add.followups[-1]["content"] == ("Désolé, seuls les membres ayant le rôle Rédaction peuvent ajouter des "
                                            "articles et lister les sources.")
    assert listing.followups[-1]["content"].startswith("Sorry, only members with the role Rédaction")
    assert all(f["ephemeral"] for f in add.followups + listing.followups)
    assert _articles(small_home) == before and not (small_home / "discord-added").exists()


async def test_a_member_with_the_role_adds_a_file_that_is_answerable_in_that_channel_only(
        harness, homes, small_home, embedder):
    recorder, make = harness
    first = _answerer(homes[0], embedder)
    bot = await make(first.settings, first, channels=2, corpora=_two_corpora(first, small_home),
                     discord_admin_roles=[ROLE])
    channel_a, channel_c = _text_channels(dpytest.get_config())
    member = await _editor(dpytest.get_config().members[0])
    question = "Qui est le conseiller diplomatique de Vladimir Poutine ?"
    await say(mention(bot, question), channel=channel_c, member=1)
    assert "Ouchakov" not in recorder.sent[-1].content  # not in this corpus yet
    cog = bot.get_cog("AdminCog")
    add = FakeInteraction(user=member, channel=channel_c)
    await cog.add.callback(cog, add, None, backend.make_attachment(SEEDS / "000_cd6188a8f69be30f.txt"))
    assert add.followups[-1]["content"].startswith("Ajouté au corpus de ce salon : « ")
    assert "Il compte maintenant 3 articles." in add.followups[-1]["content"]
    saved = [p for p in _articles(small_home) if "discord-added" in p]
    assert len(saved) == 1 and Path(saved[0]).read_bytes() == (SEEDS / "000_cd6188a8f69be30f.txt").read_bytes()
    assert len(_articles(homes[0])) == 5  # the other corpus is untouched
    await say(mention(bot, question), channel=channel_c, member=2)
    answer = recorder.sent[-1]
    assert "Ouchakov" in answer.content and _sources(answer) == {Path(saved[0]).name}
    again = FakeInteraction(user=member, channel=channel_c)
    await cog.add.callback(cog, again, None, backend.make_attachment(SEEDS / "000_cd6188a8f69be30f.txt"))
    assert again.followups[-1]["content"] == "Déjà dans le corpus de ce salon, sans changement."


async def test_a_url_is_added_and_sources_lists_every_article_with_its_date_and_link(
        harness, homes, small_home, embedder, tmp_path):
    from web_server import SiteServer

    _, make = harness
    first = _answerer(homes[0], embedder)
    bot = await make(first.settings, first, channels=2, corpora=_two_corpora(first, small_home),
                     discord_admin_roles=["12345", ROLE.upper()])  # names compare without case
    channel = _text_channels(dpytest.get_config())[1]
    member = await _editor(dpytest.get_config().members[0])
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(PAGES / "07-paywall-fr.html", site / "tour.html")
    cog = bot.get_cog("AdminCog")
    with SiteServer(site) as server:
        url = f"{server.url}/tour.html"
        add = FakeInteraction(user=member, channel=channel, locale="en-GB")
        await cog.add.callback(cog, add, url, None)
    assert add.followups[-1]["content"].startswith("Added to this channel's corpus: « Tour de France")
    assert url in _articles(small_home)
    listing = FakeInteraction(user=member, channel=channel)
    await cog.sources.callback(cog, listing)
    text = "\n".join(f["content"] for f in listing.followups)
    lines = text.splitlines()
    assert lines[0] == "3 articles dans le corpus de ce salon :"
    assert lines[1] == f"• `2024-07-13` [Tour de France : l'étape des Vosges remportée par un jeune Belge](<{url}>)"
    assert lines[2].startswith("• `2024-03-12` Grève des contrôleurs aériens") and "01-modern-fr.html" in lines[2]
    assert lines[3].startswith("• `sans date` À Rennes")  # newest first, undated last (no date found in the file)


@pytest.mark.parametrize("url, file, expected", [
    (None, None, "Donnez une adresse"),
    ("https://example.org/a", "x.txt", "Donnez une adresse"),
    ("ftp://example.org/a", None, "n’est pas une adresse http"),
    (None, "notes.pdf", "n’est pas un article que je sais lire"),
])
async def test_a_bad_add_gets_one_polite_line_and_changes_nothing(harness, homes, small_home, embedder, tmp_path,
                                                                  url, file, expected):
    _, make = harness
    first = _answerer(homes[0], embedder)
    bot = await make(first.settings, first, channels=2, corpora=_two_corpora(first, small_home),
                     discord_admin_roles=[ROLE])
    channel = _text_channels(dpytest.get_config())[1]
    member = await _editor(dpytest.get_config().members[0])
    attachment = None
    if file:
        (tmp_path / file).write_bytes(b"%PDF-1.4 not an article")
        attachment = backend.make_attachment(tmp_path / file)
    before = _articles(small_home)
    cog = bot.get_cog("AdminCog")
    add = FakeInteraction(user=member, channel=channel)
    await cog.add.callback(cog, add, url, attachment)
    assert len(add.followups) == 1 and expected in add.followups[0]["content"]
    assert "\n" not in add.followups[0]["content"] and _articles(small_home) == before


def test_adding_keeps_every_other_article_and_an_unreadable_one_leaves_the_index_as_it_was(small_home, embedder,
                                                                                          tmp_path):
    settings = Settings().replace(home=small_home)
    before = _articles(small_home)
    report, added = add_to_index(settings, [SEEDS / "001_d7652ec38b69ceef.txt"], embedder=embedder)
    assert _articles(small_home) == before | {str((SEEDS / "001_d7652ec38b69ceef.txt").resolve())}
    assert (report.added, report.removed, report.unchanged, len(added)) == (1, 0, 2, 1)
    generation = open_store(settings).live_generation()
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    with pytest.raises(InputError, match="nothing added"):
        add_to_index(settings, [empty], embedder=embedder)
    assert open_store(settings).live_generation() == generation


# --- acknowledgement within 3 seconds ---

SLOW = 3.5  # seconds the model takes for each answer: more than Discord's deadline


class SlowModel(ScriptedGenerator):
    """A model that takes SLOW seconds before it writes, then quotes the first sentence it was shown."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def stream(self, messages, grammar, max_tokens):
        self.calls += 1
        time.sleep(SLOW)
        for line in messages[-1]["content"].splitlines():
            found = re.match(r"\[(\d+)\] (.*)", line)
            if found:
                yield f"[{found.group(1)}] {found.group(2)}\n"
                return


async def test_every_interaction_is_acknowledged_within_3_seconds_while_a_slow_model_answers(
        harness, homes, small_home, embedder):
    _, make = harness
    model = SlowModel()
    settings = Settings().replace(home=homes[0], extractive=False)
    first = Answerer(settings, Searcher.open(settings, embedder), generator=model)
    bot = await make(settings, first, channels=2, corpora=_two_corpora(first, small_home), members=4,
                     discord_admin_roles=[ROLE])
    channel_a, channel_c = _text_channels(dpytest.get_config())
    members = dpytest.get_config().members
    editor = await _editor(members[3])
    ask_cog, admin_cog = bot.get_cog("AskCog"), bot.get_cog("AdminCog")
    gaps, running = [], True

    async def heartbeat():  # the event loop must stay free while the model works
        last = time.monotonic()
        while running:
            await asyncio.sleep(0.05)
            gaps.append(time.monotonic() - last)
            last = time.monotonic()

    beat = asyncio.create_task(heartbeat())
    asks = [FakeInteraction(user=members[0], channel=channel_a), FakeInteraction(user=members[1], channel=channel_c),
            FakeInteraction(user=members[2], channel=channel_a)]
    listing = FakeInteraction(user=editor, channel=channel_c)
    questions = ["Qui est le conseiller diplomatique de Vladimir Poutine ?",
                 "Combien de vols ont été annulés à l'aéroport de Marseille ?",
                 "De quoi les Occidentaux accusent-ils les Nord-Coréens ?"]
    started = time.monotonic()
    await asyncio.gather(*(ask_cog.ask.callback(ask_cog, i, q) for i, q in zip(asks, questions, strict=True)),
                         admin_cog.sources.callback(admin_cog, listing))
    seconds = time.monotonic() - started
    running = False
    await beat
    assert model.calls == 3 and seconds >= 3 * SLOW  # one model, one question at a time: the last waited long
    for interaction in [*asks, listing]:
        assert len(interaction.deferred_after) == 1 and interaction.deferred_after[0] < 3.0
        assert interaction.followups  # and answered in the end
    assert all(any("[1]" in t for t in i.texts) for i in asks), [i.texts for i in asks]
    assert max(gaps) < 1.0, max(gaps)
    print(f"deferred after {max(i.deferred_after[0] for i in [*asks, listing]) * 1000:.1f} ms at most; "
          f"answers done after {seconds:.1f} s; longest event-loop gap {max(gaps) * 1000:.0f} ms")


# --- conversations after a restart ---

class Recording:
    """The real answerer, with the history each question came with written down."""

    def __init__(self, answerer):
        self.answerer = answerer
        self.histories = []
        self.standalones = []

    def __getattr__(self, name):
        return getattr(self.answerer, name)

    def ask(self, question, history=None, on_statement=None):
        self.histories.append(list(history or []))
        answer = self.answerer.ask(question, history, on_statement=on_statement)
        self.standalones.append(answer.standalone)
        return answer


FIRST = "Qui est le conseiller diplomatique de Vladimir Poutine ?"
FOLLOW = "Et lui, comment a-t-il présenté le voyage du président russe ?"


async def test_a_follow_up_in_a_thread_after_the_bot_restarts_uses_the_conversation(harness, homes, embedder,
                                                                                   tmp_path):
    recorder, make = harness
    store = tmp_path / "discord-conversations.sqlite3"
    first = _answerer(homes[0], embedder)
    old = await make(first.settings, first, conversations=Conversations(store))
    await say(mention(old, FIRST), member=0)
    thread_id = recorder.threads[0]
    config = dpytest.get_config()
    old.service.stop()
    old.conversations.close()
    model = Recording(_answerer(homes[0], embedder))
    new = await make(first.settings, model, conversations=Conversations(store), like=config)
    assert new is not old and new._connection is not old._connection  # a new bot: only Discord's data is the same
    assert len(new.conversations[thread_id]) == 1  # read back from the file
    thread = new.guilds[0].get_thread(thread_id)
    await say(FOLLOW, channel=thread, member=dpytest.get_config().members[0])
    follow = recorder.sent[-1]
    assert follow.channel_id == thread_id
    assert [t.question for t in model.histories[0]] == [FIRST]  # the history came back from the file
    assert FIRST in model.standalones[0]
    assert any("Ouchakov" in f["value"] for f in follow.embeds[0]["fields"])
    assert len(new.conversations[thread_id]) == 2


async def test_a_reply_to_an_answer_after_the_bot_restarts_is_a_follow_up(harness, homes, embedder, tmp_path,
                                                                         monkeypatch):
    recorder, make = harness

    async def forbidden(self, **kwargs):
        raise discord.Forbidden(type("R", (), {"status": 403, "reason": "Missing Permissions"})(), "no threads")

    monkeypatch.setattr(discord.Message, "create_thread", forbidden)  # answers are replies in the channel
    store = tmp_path / "discord-conversations.sqlite3"
    first = _answerer(homes[0], embedder)
    old = await make(first.settings, first, conversations=Conversations(store))
    await say(mention(old, FIRST), member=0)
    answer_id = recorder.sent[-1].message_id
    config = dpytest.get_config()
    old.service.stop()
    old.conversations.close()
    model = Recording(_answerer(homes[0], embedder))
    await make(first.settings, model, conversations=Conversations(store), like=config)
    channel, member = dpytest.get_config().channels[0], dpytest.get_config().members[0]
    await reply(FOLLOW, to=answer_id, channel=channel, member=member)
    assert [t.question for t in model.histories[0]] == [FIRST]
    second = recorder.sent[-1]
    assert any("Ouchakov" in f["value"] for f in second.embeds[0]["fields"])
    await reply("Et Kim Jong-un ?", to=second.message_id, channel=channel, member=member)  # the chain goes on
    assert [t.question for t in model.histories[1]] == [FIRST, FOLLOW]
    await reply("Qui est John Kirby ?", to=12345, channel=channel, member=member)  # not one of ours: ignored
    assert len(model.histories) == 2


async def test_a_slash_command_answer_can_be_followed_up_by_replying_to_it(harness, homes, embedder):
    recorder, make = harness
    model = Recording(_answerer(homes[0], embedder))
    bot = await make(model.settings, model)
    cog = bot.get_cog("AskCog")
    config = dpytest.get_config()
    interaction = FakeInteraction(user=config.members[0], channel=config.channels[0])
    await cog.ask.callback(cog, interaction, FIRST)
    answer_id = bot.conversations.db.execute("SELECT message FROM messages").fetchone()[0]
    await reply(FOLLOW, to=answer_id, channel=config.channels[0], member=config.members[0])
    assert [t.question for t in model.histories[1]] == [FIRST]
    assert any("Ouchakov" in f["value"] for f in recorder.sent[-1].embeds[0]["fields"])


# --- settings and start-up: one line each ---

@pytest.mark.parametrize("name, value, fragment", [
    ("DISCORD_CORPORA", "general=/srv/a", "'general' is not a channel or server id"),
    ("DISCORD_CORPORA", "123", "'123' is not ID=FOLDER or ID=postgresql://URL"),
    ("DISCORD_CORPORA", "123=", "the corpus of 123 must be an index folder or a postgresql:// URL"),
    ("DISCORD_CORPORA", "123=https://example.org", "the corpus of 123 must be an index folder"),
    ("DISCORD_UNMAPPED", "ask", "discord.discord_unmapped = 'ask'"),
    ("DISCORD_ADMIN_ROLES", "Mods,,Admins", "role names and ids must not be empty"),
    ("DISCORD_CHANNEL_LIMIT", "-1", "discord.discord_channel_limit = '-1'"),
    ("DISCORD_CHANNEL_WINDOW", "0", "discord.discord_channel_window = '0'"),
])
def test_each_bad_discord_setting_is_one_line_naming_it(name, value, fragment):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={f"CITEBOT_{name}": value})
    line = str(caught.value)
    assert "\n" not in line and fragment in line and f"CITEBOT_{name}" in line


def test_a_corpus_store_password_never_shows_in_the_error():
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"CITEBOT_DISCORD_CORPORA": "1=postgresql://bot:hunter2@db/x,x=/srv"})
    assert "hunter2" not in str(caught.value) and "'x' is not a channel or server id" in str(caught.value)


def test_corpora_in_a_settings_file_are_a_table_of_ids(tmp_path):
    config = tmp_path / "citebot.toml"
    config.write_text('[discord]\ndiscord_corpora = { "111" = "/srv/politique", "222" = "postgresql://db/sport" }\n'
                      'discord_admin_roles = ["Rédaction", 333]\ndiscord_unmapped = "refuse"\n', encoding="utf-8")
    discord_settings = load_settings(config=config, environ={}).discord
    assert discord_settings.discord_corpora == ((111, "/srv/politique"), (222, "postgresql://db/sport"))
    assert discord_settings.discord_admin_roles == ("Rédaction", "333")


@pytest.fixture
def offline_discord(monkeypatch):
    """The token check passes without a network; discord.py's logging set-up is left out (stderr stays ours)."""

    async def static_login(self, token):
        return {}

    monkeypatch.setattr(discord.http.HTTPClient, "static_login", static_login)
    monkeypatch.setattr(discord.utils, "setup_logging", lambda **kwargs: None)


@pytest.mark.parametrize("corpora, unmapped, fragment", [
    ("123={missing}", "refuse", "the corpus of 123, {missing}, is not a folder; create it with: citebot index --home"),
    ("123={empty},456={empty}", "refuse", "the corpus of 123, 456, {empty}, holds no index"),
    ("", "refuse", "discord_unmapped is \"refuse\" and discord_corpora is empty"),
])
def test_a_corpus_that_cannot_answer_stops_the_bot_with_one_line_before_connecting(
        offline_discord, tmp_path, corpora, unmapped, fragment):
    from test_cli_errors import assert_one_line_error

    paths = {"missing": tmp_path / "missing", "empty": tmp_path / "empty"}
    paths["empty"].mkdir()
    env = {"DISCORD_TOKEN": "a-token", "CITEBOT_DISCORD_CORPORA": corpora.format(**paths),
           "CITEBOT_DISCORD_UNMAPPED": unmapped, "CITEBOT_HOME": str(tmp_path / "home")}
    result = CliRunner().invoke(cli, ["discord", "--extractive"], env=env)
    assert_one_line_error(result, fragment.format(**paths))


def test_a_second_corpus_without_an_index_is_named_in_one_line(homes, tmp_path, embedder):
    from bot.discord.worker import AnswerService

    first = _answerer(homes[0], embedder)
    settings = first.settings.replace(discord_corpora={7: str(homes[1]), 8: str(tmp_path)})
    with pytest.raises(CorpusError, match=r"^discord_corpora: the corpus of 8, .* holds no index; create it with"):
        Corpora.open(settings, AnswerService(first), corpus_of(first.settings))
    corpora = Corpora.open(settings.replace(discord_corpora={7: str(homes[1]), 9: str(homes[1])}),
                           AnswerService(first), corpus_of(first.settings))
    assert len(corpora.answerers) == 2 and corpora.resolve(7) is corpora.resolve(9)  # one corpus, opened once
    assert corpora.resolve(None, 5, None, 9).location == str(homes[1]) and corpora.resolve(5) is corpora.default


def test_with_several_workers_every_corpus_shares_the_one_lock(homes, embedder):
    from bot.discord.worker import AnswerService

    class ServerLike(ScriptedGenerator):
        def slots(self):
            return 4

    settings = Settings().replace(home=homes[0])
    first = Answerer(settings, Searcher.open(settings, embedder), generator=ServerLike())
    service = AnswerService(first, 8, workers=4)
    corpora = Corpora.open(settings.replace(discord_corpora={7: str(homes[1])}), service, corpus_of(settings))
    other = corpora.answerer(corpora.resolve(7))
    assert other is not service.answerer and other.lock is service.answerer.lock
    assert other.searcher.embedder is first.searcher.embedder and other.generator is service.answerer.generator


def test_a_corpus_built_with_other_index_settings_is_named_in_one_line(homes, tmp_path, embedder):
    from bot.discord.worker import AnswerService

    other = tmp_path / "other"
    build_index(Settings().replace(home=other, chunk_chars=600), [SEEDS], embedder=embedder)
    first = _answerer(homes[0], embedder)
    with pytest.raises(CorpusError, match=r"^discord_corpora: the corpus of 42: the index in .* was built with "):
        Corpora.open(first.settings.replace(discord_corpora={42: str(other)}), AnswerService(first),
                     corpus_of(first.settings))


async def test_a_corpus_in_postgresql_answers_in_its_channel_and_takes_additions(harness, small_home, embedder,
                                                                                pg_server, tmp_path):
    from index.stores.postgres.schema import connect

    recorder, make = harness
    with connect(pg_server.url) as conn:
        conn.execute('CREATE DATABASE "discord_corpus"')
    url = pg_server.url.rsplit("/", 1)[0] + "/discord_corpus"
    pages = tmp_path / "pg-pages"
    pages.mkdir()
    shutil.copy(PAGES / "07-paywall-fr.html", pages / "07-paywall-fr.html")
    build_index(Settings().replace(store=url), [pages], embedder=embedder)
    first = _answerer(small_home, embedder)
    bot = await make(first.settings, first, channels=2, corpora=_two_corpora(first, url), discord_admin_roles=[ROLE])
    channel_c, channel_pg = _text_channels(dpytest.get_config())
    await say(mention(bot, "Qui a remporté la huitième étape du Tour de France ?"), channel=channel_pg)
    assert _sources(recorder.sent[-1]) == {"07-paywall-fr.html"} and "Van Eetvelt" in recorder.sent[-1].content
    cog = bot.get_cog("AdminCog")
    add = FakeInteraction(user=await _editor(dpytest.get_config().members[0]), channel=channel_pg)
    await cog.add.callback(cog, add, None, backend.make_attachment(SEEDS / "000_cd6188a8f69be30f.txt"))
    assert "Il compte maintenant 2 articles." in add.followups[-1]["content"]
    question = "Qui est le conseiller diplomatique de Vladimir Poutine ?"
    await say(mention(bot, question), channel=channel_pg, member=1)
    assert "Ouchakov" in recorder.sent[-1].content
    await say(mention(bot, question), channel=channel_c, member=2)
    assert "Ouchakov" not in recorder.sent[-1].content  # the other channel's corpus did not get it
