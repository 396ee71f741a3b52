"""Publication dates everywhere: every article's date when its source gives one, questions restricted to
the period they name (French and English, on the seeds and on the 200-article feed), --since/--until,
dates in answers, relative days resolved against the article's date."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import json
import re
from pathlib import Path

import pytest

from bot.answer.dates import resolve_days
from bot.answer.pipeline import Answerer
from bot.discord.format import render
from bot.settings import Settings, load_settings
from index.articles.dating import MONTHS, guess_date, normalize_date
from index.articles.loader import load_article
from index.articles.text import fold
from index.builder import build_index
from index.records import Period
from index.search.hybrid import Searcher
from index.search.period import find_period
from index.settings import PROJECT_ROOT
from index.stores.factory import open_store

from conftest import SEEDS
from test_cli_errors import assert_one_line_error, invoke
from web_server import SiteServer

_spec = importlib.util.spec_from_file_location("make_feed_fixtures", PROJECT_ROOT / "scripts/make_feed_fixtures.py")
assert _spec and _spec.loader
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

FEED_SIZE = 200
REFERENCE = dt.date(2024, 6, 18)
SEPTEMBER_2023, JUNE_2024 = "001_d7652ec38b69ceef.txt", "002_4a89886d9c041d69.txt"


def _within(date: str | None, period: tuple[str | None, str | None]) -> bool:
    since, until = period
    return date is not None and (since is None or since <= date) and (until is None or date <= until)


# --- the date of each article ------------------------------------------------------------------------

@pytest.mark.parametrize("written, iso", [
    ("2024-06-18T08:30:00+02:00", "2024-06-18"), ("Tue, 18 Jun 2024 08:30:00 +0000", "2024-06-18"),
    ("June 18, 2024", "2024-06-18"), ("18 juin 2024", "2024-06-18"), ("1er juin 2024", "2024-06-01"),
    ("18/06/2024", "2024-06-18"), ("06/18/2024", "2024-06-18"), ("2024/06/18", "2024-06-18"),
    ("juin 2024", None), ("2024-02-30", None), ("demain", None), ("", None),
])
def test_a_date_in_any_usual_spelling_is_stored_as_yyyy_mm_dd(written, iso):
    assert normalize_date(written) == iso


def test_front_matter_html_metadata_and_datelines_give_the_articles_date(tmp_path):
    cases = {
        "front.md": ("---\ntitle: Sommet\ndate: June 18, 2024\n---\n# Sommet\n\nPoutine est arrivé mardi.\n",
                     "2024-06-18"),
        "meta.html": ('<html><head><meta property="article:published_time" content="2023-09-13T10:00:00+03:00">'
                      "</head><body><article><p>Kim a rencontré Poutine à Vostotchny.</p></article></body></html>",
                      "2023-09-13"),
        "dateline.txt": ("VLADIVOSTOK, 13 septembre 2023 (AFP) – Kim Jong-un a visité le cosmodrome.\n", "2023-09-13"),
        "published.txt": ("Sommet à Pyongyang\n" + "Une longue phrase sur le sommet et ses suites. " * 12 +
                          "\nPublié le 19/06/2024 à 08h12\n", "2024-06-19"),
        "credit.txt": ("Sommet à Pyongyang\n" + "Une longue phrase sur le sommet et ses suites. " * 12 +
                       "\n— Agence (@agence) 18 juin 2024\nLa suite de l'article.\n", "2024-06-18"),
        # A date inside a sentence deep in the text is what the article tells, not when it was published.
        "content.txt": ("Sommet à Pyongyang\n" + "Une longue phrase sur le sommet et ses suites. " * 12 +
                        "\nLa précédente visite remonte au 19 juillet 2000, peu après son arrivée au pouvoir.\n", None),
    }
    for name, (text, date) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert load_article(tmp_path / name).date == date, name


def test_a_metadata_date_that_is_no_date_is_one_warning_line_and_the_article_is_indexed(tmp_path, embedder):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "sommet.md").write_text("---\ndate: bientôt\n---\n# Sommet\n\nKim a rencontré Poutine à Vostotchny.\n",
                                      encoding="utf-8")
    result = invoke("index", folder, "--home", tmp_path / "home", "-q", embedder=embedder)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("citebot: warning:")]
    assert len(warnings) == 1 and "sommet.md: its date 'bientôt' is not a date" in warnings[0]
    assert "Indexed 1 articles" in result.stdout


def test_the_seeds_that_write_their_date_have_it_and_the_others_none():
    dates = {path.name: load_article(path).date for path in sorted(SEEDS.glob("*.txt"))}
    assert dates[SEPTEMBER_2023] == "2023-09-10"   # the photo caption under the headline
    assert dates[JUNE_2024] == "2024-06-18"        # the credit line of the embedded post
    assert sum(d is None for d in dates.values()) == 3
    assert guess_date("Rien de daté ici.", 0) is None


# --- the period a question names ---------------------------------------------------------------------

PERIODS = [  # (question, since, until, relative): one per kind of expression, French and English
    ("Qu'a dit Poutine en juin 2024 ?", "2024-06-01", "2024-06-30", False),
    ("What did Kim Jong-un do in September 2023?", "2023-09-01", "2023-09-30", False),
    ("Que s'est-il passé en 2023 ?", "2023-01-01", "2023-12-31", False),
    ("What happened in 2024?", "2024-01-01", "2024-12-31", False),
    ("Qu'ont fait Poutine et Kim depuis septembre ?", "2023-09-01", None, True),
    ("What has Putin done since January?", "2024-01-01", None, True),
    ("Que s'est-il passé depuis septembre 2023 ?", "2023-09-01", None, False),
    ("Que s'est-il passé le 10 septembre 2023 ?", "2023-09-10", "2023-09-10", False),
    ("What happened on June 18, 2024?", "2024-06-18", "2024-06-18", False),
    ("Que disent les articles entre juillet et décembre 2023 ?", "2023-07-01", "2023-12-31", False),
    ("What happened between May and July 2024?", "2024-05-01", "2024-07-31", False),
    ("Qu'a-t-on appris du 3 au 15 juin 2024 ?", "2024-06-03", "2024-06-15", False),
    ("What was reported from June to September 2023?", "2023-06-01", "2023-09-30", False),
]


@pytest.mark.parametrize("question, since, until, relative", PERIODS)
def test_each_kind_of_period_expression_gives_its_dates(question, since, until, relative):
    period = find_period(question, REFERENCE, "newest article")
    assert period is not None and (period.since, period.until) == (since, until)
    assert period.expression in question
    assert (period.relative_to, period.relative_basis) == (("2024-06-18", "newest article") if relative else (None, ""))


@pytest.mark.parametrize("question", [
    "Où les deux dirigeants s'étaient-ils rencontrés avant septembre 2023 ?",  # orders events, not articles
    "Qui a remporté la Coupe du monde de football 2018 ?",                   # a bare year is a name's part
    "Since which year has Pyongyang been under international sanctions?",
    "Depuis quand les relations entre Moscou et Pyongyang sont-elles plus étroites ?",
    "Combien de personnes entre 10 et 15 ans ?",
])
def test_words_that_name_no_period_of_publication_restrict_nothing(question):
    assert find_period(question, REFERENCE, "newest article") is None


def test_a_month_without_its_year_is_the_latest_one_before_the_reference():
    assert find_period("depuis juin", dt.date(2024, 6, 18), "today").since == "2024-06-01"
    assert find_period("depuis juillet", dt.date(2024, 6, 18), "today").since == "2023-07-01"
    assert find_period("entre novembre et février", dt.date(2024, 6, 18), "today").since == "2023-11-01"


# --- retrieval on the seeds ---------------------------------------------------------------------------

SEED_PERIODS = [  # (question, the seeds it may retrieve): only these two seeds write their date
    ("Qu'a dit Poutine en juin 2024 ?", {JUNE_2024}),
    ("What did Kim Jong-un do in September 2023?", {SEPTEMBER_2023}),
    ("Que s'est-il passé en Russie en 2023 ?", {SEPTEMBER_2023}),
    ("What happened in North Korea in 2024?", {JUNE_2024}),
    ("Qu'ont fait Poutine et Kim depuis septembre ?", {SEPTEMBER_2023, JUNE_2024}),
    ("What has Putin done since January?", {JUNE_2024}),
    ("Que s'est-il passé le 10 septembre 2023 ?", {SEPTEMBER_2023}),
    ("What happened on June 18, 2024?", {JUNE_2024}),
    ("Que disent les articles de Kim entre juillet et décembre 2023 ?", {SEPTEMBER_2023}),
    ("What happened to Putin between May and July 2024?", {JUNE_2024}),
]


@pytest.mark.parametrize("question, expected", SEED_PERIODS)
def test_a_question_naming_a_period_retrieves_only_seeds_of_that_period(seeds_settings, embedder, question,
                                                                         expected):
    result = Searcher.open(seeds_settings, embedder).search(question, 5)
    period = find_period(question, REFERENCE, "newest article")
    assert result.period == period and result.hits
    dated = [h for h in result.hits if _within(h.chunk.date, (period.since, period.until))]
    assert {Path(h.chunk.path).name for h in dated} == expected
    # Any other passage names the period itself (an event of that period told by an article of another date).
    assert all(_names_period(h.chunk.text, period) for h in result.hits if h not in dated)


def _names_period(text: str, period: Period) -> bool:
    if not period.since or not period.until:
        return False
    since, until = dt.date.fromisoformat(period.since), dt.date.fromisoformat(period.until)
    words = set(re.findall(r"\w+", fold(text)))
    year = any(str(y) in words for y in range(since.year, until.year + 1))
    months = {m for m, n in MONTHS.items() if since.month <= n <= until.month}
    return year and (since.year != until.year or (since.month, until.month) == (1, 12) or bool(months & words))


def test_an_article_of_another_date_that_names_the_period_is_searched(seeds_settings, embedder):
    # The 2019 meeting in Vladivostok is told by undated articles: no article is dated 2019.
    result = Searcher.open(seeds_settings, embedder).search("Où Kim Jong-un a-t-il rencontré Poutine en 2019 ?", 5)
    assert result.hits and all("2019" in h.chunk.text for h in result.hits)
    assert all(h.chunk.date is None or not h.chunk.date.startswith("2019") for h in result.hits)


@pytest.mark.parametrize("question, language, words", [
    ("Où Kim Jong-un avait-il rencontré Poutine en 2015 ?", "fr", "Aucun article indexé n'est daté de cette période"),
    ("Where did Kim Jong-un meet Putin in 2015?", "en", "No indexed article is dated within that period"),
])
def test_a_period_no_article_is_of_or_names_abstains_saying_so(extractive_answerer, question, language, words):
    answer = extractive_answerer.ask(question)
    assert answer.abstained and answer.language == language and not answer.hits
    assert answer.text.startswith(words) and "2015" in answer.text
    assert answer.to_json()["period"]["expression"] == ("en 2015" if language == "fr" else "in 2015")


@pytest.mark.parametrize("question", ["Où Kim Jong-un avait-il rencontré Poutine en 2019 ?",
                                      "Where did Kim Jong-un meet Putin in 2019?"])
def test_an_event_of_the_period_told_by_an_article_of_another_date_is_answered(extractive_answerer, question):
    answer = extractive_answerer.ask(question)
    assert not answer.abstained and answer.period is not None
    assert any("2019" in (c.sentence or c.quote) for c in answer.citations)


def test_an_explicit_since_until_without_articles_abstains_saying_so(seeds_settings, embedder):
    settings = seeds_settings.replace(extractive=True, since="2019-01-01", until="2019-12-31")
    answer = Answerer(settings, Searcher.open(settings, embedder)).ask("Où Kim Jong-un a-t-il rencontré Poutine ?")
    assert answer.abstained and not answer.hits
    assert answer.text.startswith("Aucun article indexé n'est daté de cette période") and "2019" in answer.text
    assert answer.to_json()["period"]["expression"] == "--since 2019-01-01 --until 2019-12-31"


def test_the_index_stores_each_date_and_its_manifest_the_span_of_them(seeds_settings):
    view = open_store(seeds_settings).open_live()
    assert view.article(str(SEEDS / JUNE_2024)).date == "2024-06-18"
    assert view.dated_articles() == (2, "2024-06-18")
    assert {k: view.manifest[k] for k in ("dated_articles", "first_date", "last_date")} == {
        "dated_articles": 2, "first_date": "2023-09-10", "last_date": "2024-06-18"}


def test_a_question_without_a_period_still_searches_every_article(seeds_settings, embedder):
    result = Searcher.open(seeds_settings, embedder).search("Kim Jong-un Poutine Corée du Nord", 10)
    assert result.period is None and any(h.chunk.date is None for h in result.hits)


# --- retrieval on the 200-article feed ----------------------------------------------------------------

@pytest.fixture(scope="module")
def feed_searcher(tmp_path_factory, embedder):
    """An index of the local news site's 200 dated articles, fetched through its RSS feed."""
    root = tmp_path_factory.mktemp("feed-site")
    with SiteServer(root) as server:
        fixtures.write_site(root, server.url, FEED_SIZE)
        settings = Settings().replace(home=tmp_path_factory.mktemp("feed-home"))
        report = build_index(settings, [], embedder=embedder, urls=[f"{server.url}/feed.xml"])
        assert report.articles == FEED_SIZE
        yield Searcher.open(settings, embedder)


FEED_PERIODS = [  # (question, the same question without its period, since, until)
    ("Quelle ville a inauguré un équipement en juin 2024 ?", "Quelle ville a inauguré un équipement ?",
     "2024-06-01", "2024-06-30"),
    ("Which city opened a new facility in September 2023?", "Which city opened a new facility?",
     "2023-09-01", "2023-09-30"),
    ("Quels projets ont coûté des millions d'euros en 2023 ?", "Quels projets ont coûté des millions d'euros ?",
     "2023-01-01", "2023-12-31"),
    ("Which council opened a library in 2024?", "Which council opened a library?", "2024-01-01", "2024-12-31"),
    ("Quelles villes ont inauguré un marché couvert depuis juillet ?",
     "Quelles villes ont inauguré un marché couvert ?", "2024-07-01", None),
    ("Which cities opened a park since May 2024?", "Which cities opened a park?", "2024-05-01", None),
    ("Qu'a-t-on inauguré le 15 mars 2023 ?", "Qu'a-t-on inauguré ?", "2023-03-15", "2023-03-15"),
    ("What opened on March 12, 2023?", "What opened?", "2023-03-12", "2023-03-12"),
    ("Quelles villes ont inauguré une piscine entre juin et septembre 2023 ?",
     "Quelles villes ont inauguré une piscine ?", "2023-06-01", "2023-09-30"),
    ("Which cities opened a bridge between January and March 2024?", "Which cities opened a bridge?",
     "2024-01-01", "2024-03-31"),
]


@pytest.mark.parametrize("question, bare, since, until", FEED_PERIODS)
def test_on_the_feed_a_period_question_retrieves_only_articles_of_that_period(feed_searcher, question, bare,
                                                                              since, until):
    restricted = feed_searcher.search(question, 10)
    assert restricted.period is not None and (restricted.period.since, restricted.period.until) == (since, until)
    dates = [h.chunk.date for h in restricted.hits]
    assert dates and all(_within(d, (since, until)) for d in dates), dates
    expected = {fixtures.article_date(i).isoformat() for i in range(FEED_SIZE)} & set(dates)
    assert expected == set(dates)  # each hit is an article of the feed with its feed date
    unrestricted = feed_searcher.search(bare, 10)
    assert unrestricted.period is None
    assert not all(_within(h.chunk.date, (since, until)) for h in unrestricted.hits)  # the period did the work


def test_on_the_feed_since_is_read_against_the_newest_article(feed_searcher):
    period = feed_searcher.search("Quelles villes ont inauguré un parc depuis juillet ?", 3).period
    newest = fixtures.article_date(FEED_SIZE - 1).isoformat()
    assert period is not None and (period.relative_to, period.relative_basis) == (newest, "newest article")


def test_on_the_feed_the_answer_quotes_only_articles_of_the_period_with_their_dates(feed_searcher):
    answerer = Answerer(feed_searcher.settings.replace(extractive=True), feed_searcher)
    answer = answerer.ask("Combien de personnes étaient présentes à l'inauguration en juin 2024 ?")
    assert not answer.abstained and answer.citations
    assert all(_within(c.date, ("2024-06-01", "2024-06-30")) for c in answer.citations)
    assert all(c["date"] for c in answer.to_json()["citations"])


# --- the command line: dates shown, --since/--until, one-line errors ---------------------------------

def _ask(seeds_settings, embedder, *args):
    return invoke("ask", *args, "--extractive", "--home", seeds_settings.index.home, "-q", embedder=embedder)


def test_the_json_answer_gives_each_citations_date_the_period_and_the_resolved_day(seeds_settings, embedder):
    result = _ask(seeds_settings, embedder, "Quand Poutine est-il arrivé en Corée du Nord en juin 2024 ?",
                  "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"]["since"] == "2024-06-01" and data["period"]["until"] == "2024-06-30"
    assert data["citations"] and {c["date"] for c in data["citations"]} == {"2024-06-18"}
    assert {h["date"] for h in data["hits"]} == {"2024-06-18"}
    part = data["direct"]["parts"][0]
    assert part["text"] == "mardi" and "mardi 18 juin 2024" in part["rendering"]
    assert "résolu d'après la date de l'article" in data["direct"]["text"]


def test_the_text_answer_shows_dates_beside_sources_and_the_period(seeds_settings, embedder):
    result = _ask(seeds_settings, embedder, "What did Kim Jong-un do in September 2023?")
    assert result.exit_code == 0, result.output
    assert "Period: 1 September 2023 to 30 September 2023 (“in September 2023”)" in result.stdout
    sources = [line for line in result.stdout.splitlines() if line.startswith("[")]
    # The September 2023 article with its date; any other is undated and tells of September 2023.
    assert any(" — 2023-09-10 — seeds/" in line for line in sources)
    assert all("2023-09-10" in line for line in sources if re.search(r" — \d{4}-\d\d-\d\d — ", line))


def test_since_and_until_restrict_ask_and_search(seeds_settings, embedder):
    result = _ask(seeds_settings, embedder, "Qui a reçu Poutine à l'aéroport de Pyongyang ?", "--since", "2024-01-01",
                  "--json")
    data = json.loads(result.stdout)
    assert data["period"]["expression"] == "--since 2024-01-01"
    assert data["citations"] and all(c["date"] >= "2024-01-01" for c in data["citations"])
    found = invoke("search", "Kim Jong-un Poutine", "--until", "2023-12", "--json", "--k", "5",
                   "--home", seeds_settings.index.home, "-q", embedder=embedder)
    hits = json.loads(found.stdout)["hits"]
    assert hits and {h["date"] for h in hits} == {"2023-09-10"}
    text = invoke("search", "Kim Jong-un Poutine", "--until", "2023-12-31", "--k", "2",
                  "--home", seeds_settings.index.home, "-q", embedder=embedder).stdout
    assert text.startswith("Period: up to 31 December 2023 (“--until 2023-12-31”)") and " — 2023-09-10 — " in text


def test_the_flags_and_the_question_restrict_together(seeds_settings, embedder):
    result = _ask(seeds_settings, embedder, "Qu'a fait Kim depuis septembre ?", "--until", "2023-12-31", "--json")
    data = json.loads(result.stdout)
    assert (data["period"]["since"], data["period"]["until"]) == ("2023-09-01", "2023-12-31")
    assert {c["date"] for c in data["citations"]} == {"2023-09-10"}


@pytest.mark.parametrize("args, fragment", [
    (["--since", "2024-13-01"], "invalid setting retrieval.since = '2024-13-01' in the flag --since"),
    (["--until", "demain"], "invalid setting retrieval.until = 'demain' in the flag --until"),
    (["--since", "2024-02-30"], "must be a date written YYYY-MM-DD"),
    (["--since", "2024-06-10", "--until", "2024-06-01"], "since (2024-06-10) must not be after until (2024-06-01)"),
])
@pytest.mark.parametrize("command", ["ask", "search"])
def test_a_bad_since_or_until_is_one_line_and_exit_2(command, args, fragment, tmp_path):
    assert_one_line_error(invoke(command, "Qui ?", *args, "--home", tmp_path / "home"), fragment)


def test_a_bad_date_in_the_environment_or_the_settings_file_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEBOT_SINCE", "hier")
    assert_one_line_error(invoke("ask", "Qui ?", "--home", tmp_path), "in the environment (CITEBOT_SINCE)")
    monkeypatch.delenv("CITEBOT_SINCE")
    config = tmp_path / "citebot.toml"
    config.write_text('[retrieval]\nuntil = "June 2024"\n', encoding="utf-8")
    assert_one_line_error(invoke("search", "Qui ?", "--config", config, "--home", tmp_path), f"in {config}")
    config.write_text("[retrieval]\nsince = 2024-06-01\n", encoding="utf-8")  # a TOML date literal is fine
    assert load_settings(config=config, environ={}).retrieval.since == "2024-06-01"


# --- relative days resolved against the article's date -----------------------------------------------

@pytest.mark.parametrize("text, sentence, date, language, shown", [
    ("mardi", "Poutine est arrivé mardi.", "2024-06-18", "fr", "mardi (mardi 18 juin 2024, résolu d'après la date"),
    ("mardi", "Poutine est arrivé mardi.", "2024-06-20", "fr", "(mardi 18 juin 2024,"),     # the last Tuesday
    ("jeudi", "Poutine rencontrera Kim jeudi.", "2024-06-18", "fr", "(jeudi 20 juin 2024,"),  # future tense
    ("mardi dernier", "mardi dernier", "2024-06-18", "fr", "(mardi 11 juin 2024,"),
    ("hier", "Il est arrivé hier.", "2024-06-18", "fr", "(lundi 17 juin 2024,"),
    ("la semaine dernière", "la semaine dernière", "2024-06-18", "fr", "(du 10 juin 2024 au 16 juin 2024,"),
    ("yesterday", "He arrived yesterday.", "2024-06-18", "en", "yesterday (Monday 17 June 2024, resolved from the "
                                                                "article's date)"),
    ("on Tuesday", "He will land on Tuesday.", "2024-06-16", "en", "Tuesday: Tuesday 18 June 2024"),
    ("next Tuesday", "next Tuesday", "2024-06-18", "en", "(Tuesday 25 June 2024,"),
    ("last week", "last week", "2024-06-18", "en", "(10 June 2024 to 16 June 2024,"),
    ("mardi", "Poutine est arrivé mardi.", "2024-06-18", "en", "(Tuesday 18 June 2024, resolved from"),
])
def test_relative_days_resolve_against_the_articles_date(text, sentence, date, language, shown):
    assert shown in resolve_days(text, sentence, date, language)


@pytest.mark.parametrize("text, date", [("mardi 12 septembre", "2023-09-10"), ("mardi", None),
                                        ("le mardi gras", "not a date"), ("en Russie", "2023-09-10")])
def test_dates_already_written_and_undated_articles_are_left_alone(text, date):
    assert resolve_days(text, text, date, "fr") == ""


@pytest.mark.parametrize("question, shown", [
    ("Quel jour Kim Jong-un est-il parti de Pyongyang pour la Russie ?",
     "dimanche soir (dimanche 10 septembre 2023, résolu d'après la date de l'article)"),
    ("When did Putin arrive in North Korea?", "“mardi” (Tuesday 18 June 2024, resolved from the article's date)"),
])
def test_the_direct_answer_resolves_a_quoted_relative_day_and_labels_it(extractive_answerer, question, shown):
    answer = extractive_answerer.ask(question)
    assert answer.direct is not None and shown in answer.direct.text
    part = answer.direct.parts[0]
    citation = answer.citations[part.n - 1]
    assert part.rendering.startswith(part.text) and citation.date is not None
    text = Path(citation.path).read_text(encoding=citation.encoding)
    assert text[part.start:part.end] == part.text  # the article's own word, verified at its offsets


def test_discord_shows_each_sources_date_and_the_period(extractive_answerer):
    answer = extractive_answerer.ask("Qui a reçu Poutine à l'aéroport de Pyongyang en juin 2024 ?")
    messages = render(answer)
    fields = [value for m in messages if m.embed for _, value in m.embed.fields]
    assert fields and all("— 2024-06-18" in value.split("\n")[0] for value in fields)
    assert any("Période : du 1er juin 2024 au 30 juin 2024 (« en juin 2024 »)" in m.content for m in messages)


# --- both stores -------------------------------------------------------------------------------------

_databases = itertools.count()


def test_the_postgres_store_filters_by_date_like_the_embedded_one(pg_server, settings, corpus, embedder):
    from index.stores.postgres.schema import connect

    name = f"dates{next(_databases)}"
    with connect(pg_server.url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    pg_settings = settings.replace(store=pg_server.url.rsplit("/", 1)[0] + f"/{name}")
    build_index(settings, [corpus], embedder=embedder)
    build_index(pg_settings, [corpus], embedder=embedder)
    embedded, postgres = open_store(settings).open_live(), open_store(pg_settings).open_live()
    assert postgres.dated_articles() == embedded.dated_articles() == (2, "2024-06-18")
    assert postgres.manifest["last_date"] == embedded.manifest["last_date"] == "2024-06-18"
    for since, until in (("2023-09-01", "2023-09-30"), ("2024-01-01", None), (None, "2023-12-31"), ("2019-01-01",
                                                                                                   "2019-12-31")):
        assert list(postgres.chunk_ids_dated(since, until)) == list(embedded.chunk_ids_dated(since, until))
    for question in ("Qu'a dit Poutine en juin 2024 ?", "What did Kim Jong-un do in September 2023?"):
        expected = Searcher.open(settings, embedder).search(question, 5)
        found = Searcher.open(pg_settings, embedder).search(question, 5)
        assert [(h.chunk.id, h.chunk.date) for h in found.hits] == [(h.chunk.id, h.chunk.date) for h in expected.hits]
        assert found.period == expected.period and isinstance(found.period, Period)


def test_a_period_too_large_for_exact_scoring_finds_the_same_chunks_through_wider_searches(feed_searcher,
                                                                                          monkeypatch):
    from index.search import hybrid

    question = "Quelles villes ont inauguré une piscine entre juin et septembre 2023 ?"
    exact = feed_searcher.search(question, 10)
    monkeypatch.setattr(hybrid, "EXACT_DENSE_CHUNKS", 0)  # every period now goes through filtered FAISS searches
    widened = feed_searcher.search(question, 10)
    assert [h.chunk.id for h in widened.hits] == [h.chunk.id for h in exact.hits]
