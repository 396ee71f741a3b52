"""Indexing articles from the web: feeds and pages from a local server (never the internet)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from index.builder import build_index
from index.errors import InputError
from index.settings import PROJECT_ROOT
from index.stores.embedded import home as layout
from index.stores.embedded.view import IndexReader

from test_cli_errors import assert_one_line_error, invoke
from web_server import SiteServer

_spec = importlib.util.spec_from_file_location("make_feed_fixtures", PROJECT_ROOT / "scripts/make_feed_fixtures.py")
assert _spec and _spec.loader
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

SMALL = 6


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
FURNITURE = ("cookies", "Mentions légales", "À lire aussi", "Read more", "Accueil", "newsletter",
             "lettre d'information")


@pytest.fixture
def site(tmp_path):
    """A local news site of SMALL articles and its feed, served over HTTP."""
    root = tmp_path / "site"
    with SiteServer(root) as server:
        fixtures.write_site(root, server.url, SMALL)
        yield server


def _index(settings, embedder, *urls, **kw):
    return build_index(settings, [], embedder=embedder, urls=list(urls), **kw)


def test_a_feed_is_indexed_with_each_article_under_its_url_title_and_date(site, settings, embedder):
    report = _index(settings, embedder, f"{site.url}/feed.xml")
    assert (report.articles, report.added, report.skipped) == (SMALL, SMALL, ())
    reader = IndexReader.open_current(settings.index.home)
    expected = {f"{site.url}/articles/{i:03d}.html": fixtures.article(i) for i in range(SMALL)}
    assert set(reader.article_hashes()) == set(expected)
    for url, source in expected.items():
        article = reader.article(url)
        assert article.title == source["title"]
        assert article.date == source["date"].isoformat()
        assert source["paragraphs"][0] in article.text and source["paragraphs"][-1] in article.text
        assert not [f for f in FURNITURE if f.lower() in article.text.lower()], article.text


def test_a_second_run_asks_conditionally_and_embeds_nothing(site, settings, embedder):
    _index(settings, embedder, f"{site.url}/feed.xml")
    before = layout.current_generation(settings.index.home)
    site.reset()
    report = _index(settings, embedder, f"{site.url}/feed.xml")
    assert (report.unchanged, report.embedded_chunks, report.added, report.updated) == (SMALL, 0, 0, 0)
    assert sum(site.not_modified.values()) == SMALL + 1  # every page and the feed: 304 Not Modified
    assert layout.current_generation(settings.index.home) == before


def test_a_changed_and_a_removed_article_are_reflected(site, settings, embedder):
    feed_url = f"{site.url}/feed.xml"
    _index(settings, embedder, feed_url)
    changed = site.root / "articles" / "002.html"
    changed.write_text(changed.read_text(encoding="utf-8").replace("coupé le ruban", "inauguré les lieux"),
                       encoding="utf-8")
    articles = [fixtures.article(i) for i in range(SMALL) if i != 4]
    (site.root / "feed.xml").write_text(fixtures.feed(articles, site.url), encoding="utf-8")
    report = _index(settings, embedder, feed_url)
    assert (report.updated, report.removed, report.unchanged, report.added) == (1, 1, SMALL - 2, 0)
    assert 1 <= report.embedded_chunks <= 2
    reader = IndexReader.open_current(settings.index.home)
    assert f"{site.url}/articles/004.html" not in reader.article_hashes()
    assert "inauguré les lieux" in reader.article(f"{site.url}/articles/002.html").text


def test_each_failing_url_is_skipped_with_a_one_line_reason(site, settings, embedder):
    (site.root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n", encoding="utf-8")
    (site.root / "private").mkdir()
    (site.root / "private" / "a.html").write_text("<html><body><p>secret</p></body></html>", encoding="utf-8")
    (site.root / "bad.xml").write_text("<rss><channel><item>", encoding="utf-8")
    dead = "http://127.0.0.1:9/nothing.html"  # the discard port: nothing listens there
    bad = [f"{site.url}/gone", f"{site.url}/loop", f"{site.url}/big", f"{site.url}/private/a.html",
           f"{site.url}/missing.html", dead, "ftp://example.org/a.html", "http://", f"{site.url}/bad.xml"]
    good = f"{site.url}/articles/001.html"
    report = _index(settings.replace(max_article_mb=1), embedder, *bad, good)
    reasons = {s.path: s.reason for s in report.skipped}
    assert report.articles == 1
    assert reasons[f"{site.url}/gone"] == "HTTP 410"
    assert reasons[f"{site.url}/loop"] == "more than 5 redirects"
    assert reasons[f"{site.url}/big"] == "larger than 1 MB"
    assert reasons[f"{site.url}/private/a.html"] == "disallowed by the site's robots.txt"
    assert reasons[f"{site.url}/missing.html"] == "HTTP 404"
    assert reasons[dead].startswith("cannot connect")
    assert reasons["ftp://example.org/a.html"] == "unsupported URL scheme 'ftp' (http or https only)"
    assert reasons["http://"] == "invalid URL (no host)"
    assert reasons[f"{site.url}/bad.xml"].startswith(("not a valid RSS/Atom feed", "the feed lists no article"))
    assert all("\n" not in r for r in reasons.values())


def test_urls_that_all_fail_leave_the_index_unchanged(site, settings, embedder):
    _index(settings, embedder, f"{site.url}/feed.xml")
    before = layout.current_generation(settings.index.home)
    with pytest.raises(InputError, match="no articles found in .*; the index is unchanged"):
        _index(settings, embedder, f"{site.url}/gone", f"{site.url}/missing.xml")
    assert layout.current_generation(settings.index.home) == before


def test_a_quote_from_a_web_article_is_verified_and_carries_its_url(site, settings, embedder):
    from bot.answer.pipeline import Answerer
    from index.search.hybrid import Searcher

    _index(settings, embedder, f"{site.url}/feed.xml")
    extractive = settings.replace(extractive=True)
    answer = Answerer(extractive, Searcher.open(extractive, embedder)).ask(
        "Combien a coûté le projet inauguré à Grenoble ?")
    assert answer.citations and not answer.stale
    cited = answer.citations[0]
    assert cited.url and cited.url.startswith(f"{site.url}/articles/")
    assert cited.to_json()["url"] == cited.url == cited.source
    page = IndexReader.open_current(settings.index.home).article(cited.url)
    assert page.text[cited.start:cited.end] == cited.quote


def test_the_cli_indexes_urls_from_a_list_and_shows_them_as_sources(site, tmp_path, embedder):
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# local site\n{site.url}/articles/000.html\n\n{site.url}/gone\n", encoding="utf-8")
    home = tmp_path / "home"
    result = invoke("index", "--urls", listing, f"{site.url}/articles/001.html", "--home", home, embedder=embedder)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "Indexed 2 articles" in result.stdout
    assert f"skipped {site.url}/gone: HTTP 410" in result.stdout
    found = invoke("search", "Lyon inaugure une nouvelle ligne de tramway", "--json", "--home", home,
                   embedder=embedder)
    hits = json_lines(found.stdout)[0]["hits"]
    assert hits[0]["source"] == hits[0]["url"] == f"{site.url}/articles/000.html"
    shown = invoke("search", "Lyon tramway", "--home", home, embedder=embedder).stdout
    assert f"— {site.url}/articles/000.html [" in shown


def test_an_unreadable_url_list_is_a_one_line_error(tmp_path):
    assert_one_line_error(invoke("index", "--urls", tmp_path / "none.txt", "--home", tmp_path / "h"),
                          "cannot read the URL list")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    assert_one_line_error(invoke("index", "--urls", empty, "--home", tmp_path / "h"), "lists no URL")


@pytest.mark.slow
def test_a_200_article_feed_is_indexed_then_followed(tmp_path, settings, embedder):
    """Must-show 1: 200 articles from a feed; a second run changes nothing; a change and a removal show."""
    root = tmp_path / "site"
    with SiteServer(root) as site:
        fixtures.write_site(root, site.url, 200)
        feed_url = f"{site.url}/feed.xml"
        first = _index(settings, embedder, feed_url)
        assert (first.articles, first.added, len(first.skipped)) == (200, 200, 0)
        site.reset()
        second = _index(settings, embedder, feed_url)
        assert (second.unchanged, second.embedded_chunks) == (200, 0)
        assert sum(site.not_modified.values()) == sum(site.requests.values()) - 1 == 201  # + robots.txt
        page = root / "articles" / "150.html"
        page.write_text(page.read_text(encoding="utf-8").replace("deux ans plus tôt", "trois ans plus tôt"),
                        encoding="utf-8")
        kept = [fixtures.article(i) for i in range(200) if i != 77]
        (root / "feed.xml").write_text(fixtures.feed(kept, site.url), encoding="utf-8")
        third = _index(settings, embedder, feed_url)
        assert (third.updated, third.removed, third.unchanged, third.articles) == (1, 1, 198, 199)
        reader = IndexReader.open_current(settings.index.home)
        assert "trois ans plus tôt" in reader.article(f"{site.url}/articles/150.html").text


@pytest.mark.subprocess
def test_kill_9_during_a_fetch_leaves_the_previous_index_intact(tmp_path, settings, embedder):
    root = tmp_path / "site"
    with SiteServer(root) as site:
        base = f"{site.url}/slow"  # every page through the slow path: the kill lands mid-fetch
        fixtures.write_site(root, base, SMALL)
        _index(settings, embedder, f"{base}/feed.xml")
        before = layout.current_generation(settings.index.home)
        hashes = IndexReader.open_current(settings.index.home).article_hashes()
        page = root / "articles" / "003.html"
        page.write_text(page.read_text(encoding="utf-8").replace("<p>", "<p>Mise à jour. ", 1), encoding="utf-8")
        site.reset()
        site.slow_seconds, site.slow_match = 60, "/articles/003"  # the feed and three pages pass first
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        child = subprocess.Popen([sys.executable, "-m", "bot", "index", "--quiet", "--home",
                                  str(settings.index.home), f"{base}/feed.xml"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not site.requests["/slow/articles/003.html"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert site.not_modified["/feed.xml"] == 1 and site.requests["/slow/articles/003.html"] == 1
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        site.slow_seconds = 0
        assert layout.current_generation(settings.index.home) == before
        reader = IndexReader.open_current(settings.index.home)
        reader.verify()
        assert reader.article_hashes() == hashes
        report = _index(settings, embedder, f"{base}/feed.xml")
        assert (report.updated, report.unchanged) == (1, SMALL - 1)
