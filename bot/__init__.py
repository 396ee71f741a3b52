"""citebot: question answering over news articles with verifiable citations (answering, CLI, Discord)."""
