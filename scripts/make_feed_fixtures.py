"""Write a local news site: N article pages (French and English, dated, with page furniture) and an RSS feed.

    python scripts/make_feed_fixtures.py OUT --base-url http://127.0.0.1:8000 [--count 200]

Deterministic: the same arguments write the same bytes. Each page has the furniture extraction must
drop (a menu, a cookie banner, related links, a newsletter box, a footer) around an article whose
date is given by a meta tag and a <time> element; the feed (OUT/feed.xml) lists every article with
its publication date. The tests serve OUT with a local HTTP server (tests/web_server.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
from email.utils import format_datetime
from pathlib import Path

FIRST_DAY = dt.date(2023, 1, 2)
STEP_DAYS = 3  # 200 articles span January 2023 to August 2024

CITIES_FR = ["Lyon", "Nantes", "Lille", "Rennes", "Grenoble", "Dijon", "Brest", "Tours", "Metz", "Nîmes"]
CITIES_EN = ["Leeds", "Bristol", "Glasgow", "Cardiff", "Belfast", "York", "Exeter", "Norwich", "Bath", "Derby"]
TOPICS_FR = [("tramway", "une nouvelle ligne de tramway"), ("bibliothèque", "une médiathèque rénovée"),
             ("piscine", "une piscine olympique"), ("parc", "un parc urbain de douze hectares"),
             ("marché", "un marché couvert"), ("pont", "un pont piéton sur la rivière"),
             ("école", "un groupe scolaire à énergie positive"), ("musée", "un musée d'histoire locale")]
TOPICS_EN = [("tram", "a new tram line"), ("library", "a refurbished central library"),
             ("pool", "an Olympic swimming pool"), ("park", "a twelve-hectare urban park"),
             ("market", "a covered market hall"), ("bridge", "a footbridge over the river"),
             ("school", "a zero-carbon primary school"), ("museum", "a museum of local history")]
MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre"]


def article_date(i: int) -> dt.date:
    """Publication date of article i: every third day from 2 January 2023."""
    return FIRST_DAY + dt.timedelta(days=STEP_DAYS * i)


def article(i: int) -> dict:
    """Title, language, date and paragraphs of article i (French for even i, English for odd i)."""
    day = article_date(i)
    french = i % 2 == 0
    cities, topics = (CITIES_FR, TOPICS_FR) if french else (CITIES_EN, TOPICS_EN)
    city = cities[i % len(cities)]
    key, thing = topics[(i // 2) % len(topics)]
    cost = 3 + (i * 7) % 90
    people = 120 + (i * 37) % 900
    mayor = ["Claire Dubois", "Marc Lefèvre", "Amina Benali", "Paul Garnier", "Léa Morel"][i % 5]
    if french:
        title = f"{city} inaugure {thing} (article {i})"
        paras = [f"La ville de {city} a inauguré {thing}, un chantier attendu depuis des années par ses habitants.",
                 f"Le projet a coûté {cost} millions d'euros, selon la maire {mayor}, qui a coupé le ruban "
                 f"devant {people} personnes le {day.day} {MONTHS_FR[day.month - 1]} {day.year}.",
                 f"Les travaux du {key} avaient commencé deux ans plus tôt et ont employé une quarantaine "
                 "d'entreprises de la région, dont plusieurs jeunes sociétés d'ingénierie.",
                 f"L'opposition municipale juge la dépense excessive et réclame un audit indépendant du {key}.",
                 f"Référence de l'article : {city.upper()}-{i:03d}, numéro d'ordre {i} de la série."]
    else:
        title = f"{city} opens {thing} (article {i})"
        paras = [f"The city of {city} opened {thing}, a project its residents had awaited for years.",
                 f"The work cost {cost} million pounds, said council leader {mayor}, who cut the ribbon in front "
                 f"of {people} people on {day.strftime('%B')} {day.day}, {day.year}.",
                 f"Construction of the {key} began two years earlier and employed some forty regional firms, "
                 "including several young engineering companies.",
                 "Opposition councillors called the spending excessive and demanded an independent audit "
                 f"of the {key}.",
                 f"Article reference: {city.upper()}-{i:03d}, number {i} in the series."]
    return {"i": i, "lang": "fr" if french else "en", "title": title, "date": day, "paragraphs": paras}


def page(a: dict, base_url: str, count: int) -> str:
    """The article's HTML page, furniture included."""
    fr = a["lang"] == "fr"
    related = [article((a["i"] + k) % count) for k in (1, 2, 3)]
    links = "".join(f'<li><a href="{base_url}/articles/{r["i"]:03d}.html">{html.escape(r["title"])}</a></li>'
                    for r in related)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in a["paragraphs"])
    iso = a["date"].isoformat()
    cookie = ("Ce site utilise des cookies pour mesurer l'audience. Tout accepter ou personnaliser."
              if fr else "This site uses cookies to measure its audience. Accept all or manage choices.")
    return f"""<!DOCTYPE html>
<html lang="{a["lang"]}"><head><meta charset="utf-8">
<title>{html.escape(a["title"])} | Le Courrier des Villes</title>
<meta property="og:title" content="{html.escape(a["title"])}">
<meta property="article:published_time" content="{iso}T08:30:00+01:00">
<meta name="author" content="Rédaction locale">
<link rel="canonical" href="{base_url}/articles/{a["i"]:03d}.html">
</head><body>
<div id="cookie-banner" class="cookie-consent"><p>{cookie}</p><button>OK</button></div>
<header><nav class="main-nav"><ul><li><a href="/">Accueil</a></li><li><a href="/monde">Monde</a></li>
<li><a href="/economie">Économie</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<main><article class="post">
<h1>{html.escape(a["title"])}</h1>
<p class="byline">Par la Rédaction locale — <time datetime="{iso}">{iso}</time></p>
<div class="article-body">{body}</div>
</article>
<aside class="related"><h2>{"À lire aussi" if fr else "Read more"}</h2><ul>{links}</ul></aside>
<div class="newsletter">{"Recevez notre lettre d'information chaque matin." if fr else
    "Get our newsletter every morning."}</div>
</main>
<footer><p>© 2024 Le Courrier des Villes — Mentions légales — Contact — Plan du site</p></footer>
</body></html>
"""


def feed(articles: list[dict], base_url: str) -> str:
    """An RSS 2.0 feed listing every article, newest first."""
    items = []
    for a in sorted(articles, key=lambda a: a["date"], reverse=True):
        when = dt.datetime.combine(a["date"], dt.time(8, 30), tzinfo=dt.UTC)
        items.append(f"""<item><title>{html.escape(a["title"])}</title>
<link>{base_url}/articles/{a["i"]:03d}.html</link><guid>{base_url}/articles/{a["i"]:03d}.html</guid>
<pubDate>{format_datetime(when)}</pubDate></item>""")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Le Courrier des Villes</title><link>{base_url}/</link>"
            "<description>Local news</description>\n" + "\n".join(items) + "\n</channel></rss>\n")


def write_site(out: Path, base_url: str, count: int = 200) -> list[dict]:
    """Write OUT/articles/NNN.html and OUT/feed.xml; returns the articles."""
    base_url = base_url.rstrip("/")
    (out / "articles").mkdir(parents=True, exist_ok=True)
    articles = [article(i) for i in range(count)]
    for a in articles:
        (out / "articles" / f"{a['i']:03d}.html").write_text(page(a, base_url, count), encoding="utf-8")
    (out / "feed.xml").write_text(feed(articles, base_url), encoding="utf-8")
    return articles


def main() -> None:
    """Command line: the folder, the base URL the site will be served at, and the article count."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    write_site(args.out, args.base_url, args.count)
    print(f"wrote {args.count} articles and feed.xml under {args.out}")


if __name__ == "__main__":
    main()
