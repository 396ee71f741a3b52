"""The Discord bot: slash command, mentions, threads and direct messages over the answering pipeline."""
