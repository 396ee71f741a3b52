"""The Discord bot driven through dpytest's simulated backend."""

import asyncio
import queue
import re
import threading
import time

import discord
import discord.ext.test as dpytest
import pytest
from test_server_generator import Counting, counting_server

from bot.answer.pipeline import Answerer
from bot.answer.records import Answer, Citation
from bot.discord.bot import CitebotBot
from bot.discord.format import CONTENT_LIMIT, split_text

from conftest import ScriptedGenerator, sentence_id
from discord_harness import FakeInteraction, mention, say


def _texts(recorder):
    return [s.content or "" for s in recorder.sent]


async def test_a_mention_is_answered_in_a_new_thread_with_cited_sources(harness, extractive_answerer):
    recorder, make = harness
    bot = await make(extractive_answerer.settings, extractive_answerer)
    await say(mention(bot, "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"))
    assert len(recorder.threads) == 1
    reply = recorder.sent[-1]
    assert reply.channel_id == recorder.threads[0]
    assert "train blindé" in reply.content and "[1]" in reply.content
    fields = reply.embeds[0]["fields"]
    assert any("seeds/" in f["value"] and "train blindé" in f["value"] for f in fields)
    assert "mode extractif" in reply.embeds[0]["footer"]["text"]


async def test_a_follow_up_in_the_thread_uses_the_conversation(harness, extractive_answerer):
    recorder, make = harness
    bot = await make(extractive_answerer.settings, extractive_answerer)
    await say(mention(bot, "Qui est le conseiller diplomatique de Vladimir Poutine ?"))
    thread = bot.get_channel(recorder.threads[0]) or bot.guilds[0].get_thread(recorder.threads[0])
    await say("Et lui, comment a-t-il présenté le voyage du président russe ?", channel=thread)
    follow = recorder.sent[-1]
    assert follow.channel_id == thread.id
    assert any("Ouchakov" in f["value"] for f in follow.embeds[0]["fields"])
    assert len(bot.conversations[thread.id]) == 2


async def test_everyone_and_user_mentions_in_questions_and_articles_never_ping(harness, extractive_answerer):
    recorder, make = harness
    bot = await make(extractive_answerer.settings, extractive_answerer)
    await say(mention(bot, "@everyone @here <@&123> Qui est John Kirby ?"))
    await say(mention(bot, "@everyone"))
    assert recorder.sent
    for sent in recorder.sent:
        assert sent.allowed_mentions == {"parse": []} or sent.allowed_mentions == {"parse": [], "replied_user": False}


async def test_direct_messages_are_answered_like_mentions(harness, extractive_answerer):
    recorder, make = harness
    await make(extractive_answerer.settings, extractive_answerer)
    member = dpytest.get_config().members[0]
    dm = await member.create_dm()
    await say("Qui est John Kirby ?", channel=dm, member=member)
    assert "Kirby" in recorder.sent[-1].embeds[0]["fields"][0]["value"]
    assert not recorder.threads


async def test_without_thread_permission_the_bot_replies_in_the_channel(harness, extractive_answerer, monkeypatch):
    recorder, make = harness
    bot = await make(extractive_answerer.settings, extractive_answerer)

    async def forbidden(self, **kwargs):
        raise discord.Forbidden(type("R", (), {"status": 403, "reason": "Missing Permissions"})(), "no threads")

    monkeypatch.setattr(discord.Message, "create_thread", forbidden)
    channel = dpytest.get_config().channels[0]
    await say(mention(bot, "Qui est John Kirby ?"))
    assert recorder.sent[-1].channel_id == channel.id and "[1]" in recorder.sent[-1].content


class LongAnswerer:
    """Returns a 3,000-character answer whose sentences each carry a citation marker."""

    settings = None

    def ask(self, question, history=None, on_statement=None):
        sentence = "Le dirigeant nord-coréen est arrivé en Russie à bord de son train blindé, selon l’agence officielle"
        parts = [f"{sentence} numéro {i}. [{i % 3 + 1}]" for i in range(30)]
        citations = tuple(Citation(n, "/tmp/a.txt", "Titre", 0, 10, "citation " * 20) for n in (1, 2, 3))
        return Answer(question=question, text=" ".join(parts), abstained=False, mode="llm", language="fr",
                      citations=citations, hits=())


async def test_a_3000_character_answer_is_split_at_sentences_without_cutting_markers(harness, extractive_answerer):
    recorder, make = harness
    bot = await make(extractive_answerer.settings, LongAnswerer())
    await say(mention(bot, "Raconte tout."))
    contents = [s.content for s in recorder.sent if s.content]
    assert len(contents) == 2 and all(len(c) <= CONTENT_LIMIT for c in contents)
    assert " ".join(contents) == LongAnswerer().ask("x").text
    for piece in contents:
        assert re.fullmatch(r".*\[\d\]", piece, re.S), piece[-20:]  # ends right after a marker
    assert recorder.sent[-1].embeds and not recorder.sent[0].embeds


@pytest.mark.parametrize("words", range(494, 502))
def test_splitting_never_cuts_a_word_or_a_marker(words):
    # The markers straddle the 2,000-character limit for some of these lengths.
    text = ("mot " * words + "fin [12][13] " + "suite " * 200).strip()
    pieces = split_text(text, 2000)
    assert all(len(p) <= 2000 for p in pieces)
    assert " ".join(pieces) == text
    assert all(not p.startswith(("[", "]")) and not re.search(r"\[\d*$", p) for p in pieces)
    assert any(p.endswith("fin [12][13]") or "fin [12][13] suite" in p for p in pieces)


@pytest.mark.parametrize("pad", range(1990, 2004))
def test_a_marker_after_a_sentence_end_at_the_limit_stays_with_its_sentence(pad):
    head = ("mot " * 600)[:pad - 4].rstrip() + " fin."
    text = head + " [3] Suite de la réponse. [4] " + "encore " * 50
    pieces = split_text(text.strip(), 2000)
    assert all(len(p) <= 2000 and not p.startswith("[") for p in pieces)


def test_splitting_keeps_initials_with_the_name():
    text = "Selon M. Poutine, la visite est un succès. " * 60
    assert all(not p.startswith("Poutine") for p in split_text(text, 2000))


async def test_the_slash_command_defers_then_follows_up(harness, extractive_answerer):
    _, make = harness
    bot = await make(extractive_answerer.settings, extractive_answerer)
    cog = bot.get_cog("AskCog")
    interaction = FakeInteraction()
    await cog.ask.callback(cog, interaction, "Qui est John Kirby ?")
    assert interaction.deferred == [{"thinking": True}]
    assert interaction.followups and "[1]" in interaction.followups[0]["content"]
    assert interaction.followups[0]["allowed_mentions"].to_dict() == {"parse": []}
    assert bot.tree.get_command("ask").description


class CountingAnswerer:
    """Slow stand-in model that records how many calls overlap.

    With `handshake`, each call waits until the event loop answers a ping: if the model ran on
    the event loop (or blocked it), no ping would be answered and the call would count a stall.
    """

    def __init__(self, handshake=False):
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.questions = []
        self.handshake = handshake
        self.pings: queue.Queue = queue.Queue()
        self.stalls = 0

    def ask(self, question, history=None, on_statement=None):
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        if self.handshake:
            ping = threading.Event()
            self.pings.put(ping)
            if not ping.wait(timeout=60):
                self.stalls += 1
        time.sleep(0.05)
        with self.lock:
            self.active -= 1
            self.questions.append(question)
        if "boom" in question:
            raise RuntimeError("model crashed")
        return Answer(question=question, text=f"Réponse à {question} [1]", abstained=False, mode="llm",
                      language="fr", citations=(Citation(1, "/tmp/a.txt", "T", 0, 4, "quote"),), hits=())


async def test_twenty_simultaneous_questions_are_each_answered_or_refused_once(harness, extractive_answerer):
    recorder, make = harness
    model = CountingAnswerer(handshake=True)
    bot = await make(extractive_answerer.settings, model, queue=4, cooldown=30.0)
    members = dpytest.get_config().members
    stop = asyncio.Event()

    async def answer_pings():
        while not stop.is_set():
            while not model.pings.empty():
                model.pings.get_nowait().set()
            await asyncio.sleep(0.005)

    tick = asyncio.create_task(answer_pings())
    questions = [(i, members[i % 5]) for i in range(20)]
    await asyncio.gather(*(say(mention(bot, f"Question numéro {i} ?"), member=m) for i, m in questions))
    stop.set()
    await tick
    replies = [s for s in recorder.sent if s.content]
    assert len(replies) == 20  # one reply per question, none lost, none doubled
    answered = [r for r in replies if r.content.startswith("Réponse à")]
    refused = [r for r in replies if "patienter" in r.content or "réessayez" in r.content]
    assert len(answered) + len(refused) == 20 and 1 <= len(answered) <= 5
    assert sorted(model.questions) == sorted({q for q in model.questions})
    assert model.max_active == 1  # the model is never called concurrently
    assert model.stalls == 0  # the event loop kept running while the model worked


class GatedAnswerer(CountingAnswerer):
    """Holds every question until the test opens the gate."""

    def __init__(self):
        super().__init__()
        self.started = threading.Event()
        self.gate = threading.Event()

    def ask(self, question, history=None, on_statement=None):
        self.started.set()
        self.gate.wait(timeout=300)
        return super().ask(question, history, on_statement)


async def _until(condition, seconds: float = 300.0):
    """Wait until `condition()` holds: generous, as a loaded 2-core CI machine is slow (only a failure waits it out)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition never met within {seconds:g} s")
        await asyncio.sleep(0.01)


async def test_a_full_queue_refuses_politely_opens_no_thread_and_frees_the_cooldown(harness, extractive_answerer):
    recorder, make = harness
    model = GatedAnswerer()
    bot = await make(extractive_answerer.settings, model, queue=1, cooldown=60.0)
    first = asyncio.create_task(bot.answer(1, "Question un ?", []))
    await _until(model.started.is_set)  # the worker holds the first question
    second = asyncio.create_task(bot.answer(2, "Question deux ?", []))
    await _until(bot.service.full)  # the second one waits in the queue
    messages, turn = await bot.answer(3, "Question trois ?", [])
    assert "réessayez" in messages[0].content and turn is None
    assert bot.cooldown.wait_time(3) == 0  # refused, so user 3 may ask again at once
    await say(mention(bot, "Question quatre ?"), member=4)
    assert not recorder.threads and "réessayez" in recorder.sent[-1].content
    model.gate.set()
    for task in (first, second):
        messages, _ = await task
        assert messages[0].content.startswith("Réponse à Question")
    assert model.max_active == 1


async def test_a_user_on_cooldown_gets_a_reply_and_no_new_thread(harness, extractive_answerer):
    recorder, make = harness
    bot = await make(extractive_answerer.settings, CountingAnswerer(), cooldown=60.0)
    await say(mention(bot, "Première question ?"), member=0)
    await say(mention(bot, "Deuxième question ?"), member=0)
    assert len(recorder.threads) == 1
    assert "patienter" in recorder.sent[-1].content and recorder.sent[-1].channel_id != recorder.threads[0]


async def test_an_error_while_answering_gets_an_apology_and_the_bot_keeps_going(harness, extractive_answerer, caplog):
    recorder, make = harness
    bot = await make(extractive_answerer.settings, CountingAnswerer())
    await say(mention(bot, "boom ?"), member=0)
    await say(mention(bot, "Encore une question ?"), member=1)
    texts = _texts(recorder)
    assert any("Désolé" in t for t in texts)
    assert texts[-1].startswith("Réponse à Encore une question")
    assert "model crashed" in caplog.text


async def test_overlong_questions_are_refused_politely(harness, extractive_answerer):
    recorder, make = harness
    bot = await make(extractive_answerer.settings, CountingAnswerer())
    await say(mention(bot, "Pourquoi " * 300))
    assert "trop longue" in recorder.sent[-1].content


@pytest.mark.subprocess
def test_discord_without_a_token_exits_2_with_one_line(tmp_path):
    from conftest import run_cli

    proc = run_cli("discord", env={"DISCORD_TOKEN": ""}, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("citebot: error: DISCORD_TOKEN is not set; create a bot token in the "
                                   "Discord Developer Portal (see README)")


@pytest.mark.subprocess
def test_a_bad_token_or_no_network_fails_in_one_line_without_printing_the_token(tmp_path):
    from conftest import run_cli

    token = "MTAbad.token.value-that-must-not-leak"
    proc = run_cli("discord", env={"DISCORD_TOKEN": token}, cwd=tmp_path, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert token not in proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("citebot: error: ") and ("rejected the token" in last or "cannot reach Discord" in last)


@pytest.fixture
def logging_setups(monkeypatch):
    """Calls of discord.utils.setup_logging, recorded instead of adding handlers to the test process."""
    calls = []
    monkeypatch.setattr(discord.utils, "setup_logging", lambda **kwargs: calls.append(kwargs))
    return calls


def test_a_token_discord_rejects_becomes_a_clear_error_before_the_models_load(monkeypatch, seeds_settings,
                                                                              logging_setups):
    from bot.discord import run as discord_run
    from index.progress import Progress

    async def static_login(self, token):  # what discord.py's HTTP client raises on a 401
        raise discord.LoginFailure("Improper token has been passed.")

    def open_answerer(*args, **kwargs):
        raise AssertionError("the models were loaded before the token was checked")

    monkeypatch.setattr(discord.http.HTTPClient, "static_login", static_login)
    monkeypatch.setattr(Answerer, "open", open_answerer)
    with pytest.raises(discord_run.DiscordError, match="rejected the token"):
        discord_run.run(seeds_settings, "bad-token", Progress(enabled=False), lambda m: None)


class _StubAnswerer:
    mode = "extractive"

    def ask(self, question, history=None, on_statement=None):
        raise AssertionError("no question expected")


def test_the_bot_is_given_its_loaded_answerer_before_it_logs_in(monkeypatch, seeds_settings, logging_setups,
                                                                tmp_path):
    from bot.discord import run as discord_run
    from index.progress import Progress

    loaded = _StubAnswerer()
    seen = []

    async def static_login(self, token):  # the token check passes
        return {}

    async def login(self, token):
        seen.append(self.service.answerer)
        raise discord.LoginFailure("stop here")

    monkeypatch.setattr(discord.http.HTTPClient, "static_login", static_login)
    monkeypatch.setattr(Answerer, "open", lambda *args, **kwargs: loaded)
    monkeypatch.setattr(CitebotBot, "login", login)
    with pytest.raises(discord_run.DiscordError):  # a home of its own: the bot keeps its conversations there
        discord_run.run(seeds_settings.replace(home=tmp_path), "token", Progress(enabled=False), lambda m: None)
    assert seen == [loaded]
    assert (tmp_path / "discord-conversations.sqlite3").is_file()


def test_logging_goes_through_discords_own_setup(monkeypatch, seeds_settings, logging_setups):
    import logging

    from bot.discord import run as discord_run
    from index.progress import Progress

    async def static_login(self, token):
        raise discord.LoginFailure("Improper token has been passed.")

    def basic_config(**kwargs):
        raise AssertionError("logging.basicConfig bypasses discord.utils.setup_logging")

    monkeypatch.setattr(discord.http.HTTPClient, "static_login", static_login)
    monkeypatch.setattr(CitebotBot, "login", static_login)
    monkeypatch.setattr(logging, "basicConfig", basic_config)
    with pytest.raises(discord_run.DiscordError):
        discord_run.run(seeds_settings, "bad-token", Progress(enabled=False), lambda m: None)
    assert len(logging_setups) == 1


async def test_starting_the_bot_registers_no_commands_with_discord(harness, extractive_answerer):
    recorder, make = harness
    bot = await make(extractive_answerer.settings, CountingAnswerer(), discord_guild=1234)
    assert bot.tree.get_command("ask") is not None
    assert recorder.syncs == []


COMMANDS = ["ask", "add", "sources"]


@pytest.mark.parametrize("guild, synced", [(1234, ("guild", 1234, COMMANDS)), (0, ("global", None, COMMANDS))])
async def test_the_owner_registers_ask_by_mentioning_the_bot_with_sync(harness, extractive_answerer, guild, synced):
    recorder, make = harness
    model = CountingAnswerer()
    bot = await make(extractive_answerer.settings, model, discord_guild=guild)
    bot.owner_id = dpytest.get_config().members[0].id
    await say(mention(bot, "sync"), member=0)
    assert recorder.syncs == [synced]
    reply = recorder.sent[-1].content
    assert "/ask, /add, /sources" in reply and (str(guild) in reply if guild else "globally" in reply)
    assert not recorder.threads and model.questions == []  # a command, not a question


async def test_a_sync_from_anyone_but_the_owner_is_ignored(harness, extractive_answerer):
    from discord.ext import commands

    recorder, make = harness
    model = CountingAnswerer()
    bot = await make(extractive_answerer.settings, model)
    bot.owner_id = dpytest.get_config().members[0].id
    with pytest.raises(commands.NotOwner):  # dpytest re-raises what the bot's on_command_error was given
        await say(mention(bot, "sync"), member=1)
    assert recorder.syncs == [] and recorder.sent == [] and model.questions == []


async def test_a_sync_discord_refuses_is_explained_to_the_owner(harness, extractive_answerer, monkeypatch):
    recorder, make = harness
    bot = await make(extractive_answerer.settings, CountingAnswerer(), discord_guild=1234)
    bot.owner_id = dpytest.get_config().members[0].id

    async def missing_access(self, application_id, guild_id, payload):
        raise discord.Forbidden(type("R", (), {"status": 403, "reason": "Forbidden"})(),
                                {"code": 50001, "message": "Missing Access"})

    monkeypatch.setattr(discord.http.HTTPClient, "bulk_upsert_guild_commands", missing_access)
    await say(mention(bot, "sync"), member=0)
    reply = recorder.sent[-1].content
    assert "Missing Access" in reply and "CITEBOT_DISCORD_GUILD" in reply and "applications.commands" in reply


async def _direct_message(member, text):
    await say(text, channel=await member.create_dm(), member=member)


async def test_direct_message_histories_are_forgotten_past_the_cap(harness, extractive_answerer, monkeypatch):
    from bot.discord import bot as discord_bot

    monkeypatch.setattr(discord_bot, "MAX_CONVERSATIONS", 3)
    _, make = harness
    bot = await make(extractive_answerer.settings, CountingAnswerer())
    members = dpytest.get_config().members
    for member in members[:5]:
        await _direct_message(member, "Qui est John Kirby ?")
    dms = [(await member.create_dm()).id for member in members[:5]]
    assert list(bot.conversations) == dms[2:]  # the two oldest forgotten


async def test_the_conversation_in_use_is_not_the_one_forgotten(harness, extractive_answerer, monkeypatch):
    from bot.discord import bot as discord_bot

    monkeypatch.setattr(discord_bot, "MAX_CONVERSATIONS", 3)
    recorder, make = harness
    bot = await make(extractive_answerer.settings, CountingAnswerer())
    members = dpytest.get_config().members
    await say(mention(bot, "Qui est John Kirby ?"), member=0)  # a thread, followed
    thread = recorder.threads[0]
    await _direct_message(members[1], "Qui est Vladimir Poutine ?")
    await _direct_message(members[2], "Qui est Kim Jong-un ?")
    channel = bot.get_channel(thread) or bot.guilds[0].get_thread(thread)
    await say("Et ensuite ?", channel=channel, member=0)  # the thread is used again
    await _direct_message(members[3], "Qui est Iouri Ouchakov ?")
    assert thread in bot.conversations and len(bot.conversations) == 3
    assert (await members[1].create_dm()).id not in bot.conversations


async def test_a_question_with_control_characters_is_refused_before_the_model_and_opens_no_thread(
        harness, extractive_answerer):
    recorder, make = harness
    model = CountingAnswerer()
    bot = await make(extractive_answerer.settings, model)
    await say(mention(bot, "Qui est\x07 John Kirby ?"))
    assert not recorder.threads and model.questions == []
    assert "control characters" in recorder.sent[-1].content


TRAIN = "est parti dimanche soir de Pyongyang à bord d’un train blindé"
ARRIVED = "est arrivé en Russie par train blindé"
FIRST = "Kim Jong-un est parti de Pyongyang à bord d’un train blindé."
SECOND = "Le leader nord-coréen est arrivé en Russie par train blindé."


def _two_statements(messages):
    return f"[{sentence_id(messages, TRAIN)}] {FIRST}\n[{sentence_id(messages, ARRIVED)}] {SECOND}\n"


async def test_the_reply_shows_the_first_statement_before_the_model_writes_the_second(harness, extractive_answerer):
    recorder, make = harness
    gate = threading.Event()
    model = ScriptedGenerator(_two_statements, between=lambda line: gate.wait(timeout=300))
    answerer = Answerer(extractive_answerer.settings.replace(extractive=False), extractive_answerer.searcher,
                        generator=model)
    bot = await make(answerer.settings, answerer)
    asking = asyncio.create_task(say(mention(bot, "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?")))
    # The reply may open with the direct answer; the first statement is then an edit of it.
    await _until(lambda: any(FIRST in (s.content or "") for s in [*recorder.sent, *recorder.edits]))
    # The model is held before its second line: what Discord shows came from the first alone.
    assert not gate.is_set() and not any(SECOND in (s.content or "") for s in [*recorder.sent, *recorder.edits])
    gate.set()
    await asking
    final = recorder.edits[-1]
    assert FIRST in final.content and SECOND in final.content and final.embeds  # sources added at the end
    assert len([s for s in recorder.sent if s.content]) == 1  # one message, edited: not one per statement


async def test_the_slash_command_edits_its_followup_as_statements_arrive(harness, extractive_answerer):
    _, make = harness
    model = ScriptedGenerator(_two_statements)
    answerer = Answerer(extractive_answerer.settings.replace(extractive=False), extractive_answerer.searcher,
                        generator=model)
    bot = await make(answerer.settings, answerer)
    cog = bot.get_cog("AskCog")
    interaction = FakeInteraction()
    await cog.ask.callback(cog, interaction, "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?")
    # The first followup is sent before the second statement exists (it may open with the direct
    # answer when one is found); later statements arrive as edits of that one message.
    first = interaction.followups[0]
    assert first["wait"] is True and first["content"] and SECOND not in first["content"]
    assert len(interaction.followups) == 1
    assert any(FIRST in shown["content"] for shown in [first, *interaction.edits[:-1]])
    final = interaction.edits[-1]
    assert FIRST in final["content"] and SECOND in final["content"] and final["embed"].fields


async def test_edits_are_spaced_to_respect_discords_rate_limit(monkeypatch):
    from bot.answer.records import Statement
    from bot.discord import live as discord_live
    from bot.discord.format import Outgoing

    clock = [100.0]
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds):
        clock[0] += seconds
        await real_sleep(0)

    monkeypatch.setattr(discord_live, "_sleep", fake_sleep)
    monkeypatch.setattr(discord_live, "_now", lambda: clock[0])
    shown: list[tuple[float, str]] = []

    class Message:
        async def edit(self, **kwargs):
            shown.append((clock[0], kwargs["content"]))

    async def target(**kwargs):
        shown.append((clock[0], kwargs["content"]))
        return Message()

    live = discord_live.LiveReply(target)
    for i in range(5):  # five statements before the first send: one message holds them all
        live.add(Statement(f"Phrase {i}.", (1,)))
    await live._task
    assert [text for _, text in shown] == [" ".join(f"Phrase {i}. [1]" for i in range(5))]
    for i in range(5, 9):
        live.add(Statement(f"Phrase {i}.", (1,)))
        await real_sleep(0)
    await live.deliver([Outgoing("Réponse finale.")])
    times = [t for t, _ in shown]
    assert all(later - earlier >= discord_live.EDIT_INTERVAL for earlier, later in zip(times, times[1:], strict=False))
    assert "Phrase 8. [1]" in " ".join(text for _, text in shown[:-1]) and shown[-1][1] == "Réponse finale."


# --- a real model server (llama-cpp-python's, on the tiny random GGUF), and one that breaks off ---

@pytest.fixture
def tiny_server(tiny_gguf, tmp_path):
    from test_server_generator import TINY_N_CTX, start

    server = start(tiny_gguf, tmp_path / "server.log", TINY_N_CTX)
    yield server
    server.stop()


@pytest.fixture
def breaking():
    """A small HTTP server of the test's own (test_server_generator.Counting), set to break off below."""
    with counting_server() as served:
        yield served


def _server_answerer(settings, url, embedder, **changes):
    # llama-cpp-python's server answers one request at a time: on a loaded machine a queued one waits long.
    return Answerer.open(settings.replace(llm_url=url, max_tokens=120, llm_timeout=300, **changes),
                         embedder=embedder)


@pytest.mark.subprocess
async def test_twenty_simultaneous_askers_through_a_server_with_four_workers_are_each_answered_or_refused_once(
        harness, seeds_settings, embedder, tiny_server):
    from conftest import load_questions

    recorder, make = harness
    answerer = _server_answerer(seeds_settings, tiny_server.url, embedder)
    asked, real_ask, lock = [], answerer.ask, threading.Lock()
    active, peak = [0], [0]

    def ask(question, history=None, on_statement=None):
        with lock:
            asked.append(question)
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            return real_ask(question, history, on_statement=on_statement)
        finally:
            with lock:
                active[0] -= 1

    answerer.ask = ask
    bot = await make(seeds_settings, answerer, queue=8, workers=4)
    members = dpytest.get_config().members
    questions = [f"{record['question']} ({i})" for i, record in enumerate(load_questions()[:20])]
    await asyncio.gather(*(say(mention(bot, q), member=members[i % 5]) for i, q in enumerate(questions)))
    await _until(lambda: all(any(s.channel_id == t for s in recorder.sent) for t in recorder.threads))
    refused = [s for s in recorder.sent if s.content and "réessayez" in s.content]
    assert len(recorder.threads) + len(refused) == 20  # each question answered (in its thread) or refused
    assert sorted(asked) == sorted(set(asked)) and len(asked) == len(recorder.threads)  # none answered twice
    assert not any("Désolé" in (s.content or "") or "Sorry" in (s.content or "") for s in recorder.sent)
    assert peak[0] > 1  # questions were answered at once


@pytest.mark.parametrize("constraint", ["grammar", "json_schema"])
async def test_a_server_gone_mid_answer_gets_an_apology_without_a_traceback(harness, seeds_settings, embedder,
                                                                           breaking, caplog, constraint):
    recorder, make = harness
    server, url = breaking
    Counting.content, Counting.breaks = "[1] Kim Jong-un est venu", True  # the first chunk, then the end
    answerer = _server_answerer(seeds_settings, url, embedder, llm_constraint=constraint, llm_retry_pause=0.01,
                                llm_retries=1)  # 3 tries for a stream ended early: the pauses stay short
    bot = await make(seeds_settings, answerer)
    await say(mention(bot, "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"), member=0)
    # The direct answer may be sent first, then edited into the apology.
    await _until(lambda: any("Désolé" in (s.content or "") for s in recorder.sent + recorder.edits))
    assert Counting.seen  # the model was asked, and its answer broke off
    assert not any("Kim Jong-un est venu" in (s.content or "") for s in recorder.sent + recorder.edits)
    assert not any(record.exc_info for record in caplog.records)  # one line in the log, no traceback
    assert any(url in record.getMessage() and "broke off" in record.getMessage() for record in caplog.records)
