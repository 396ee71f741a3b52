"""Articles from the web: fetching (fetch.py), the fetched pages kept in the index home (cache.py),
RSS/Atom feeds (feeds.py), text and metadata extraction (extract.py), and the whole of it for the
builder (pages.py)."""
