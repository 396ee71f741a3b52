"""Conversation histories that survive a restart: SQLite in the index home.

A conversation is a thread the bot opened, a direct-message channel, or a chain of Discord
replies (named by its first question's message id). Each keeps its last MAX_TURNS turns and the
ids of the bot's messages in it, so that a member replying to any of them, even after a
restart, continues it. Past `cap` conversations the least recently used are forgotten.
All calls come from the event loop; each write is one short transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from bot.answer.condense import Turn
from index.errors import CitebotError

MAX_TURNS = 10
FILE_NAME = "discord-conversations.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (id INTEGER PRIMARY KEY, used INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS turns (conversation INTEGER NOT NULL, seq INTEGER NOT NULL, question TEXT NOT NULL,
                                  standalone TEXT NOT NULL, answer TEXT NOT NULL, PRIMARY KEY (conversation, seq));
CREATE TABLE IF NOT EXISTS messages (message INTEGER PRIMARY KEY, conversation INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_of ON messages (conversation);
CREATE INDEX IF NOT EXISTS by_use ON conversations (used);
"""


class HistoryError(CitebotError):
    """The conversations file cannot be opened."""


class Conversations:
    """Conversation id -> its turns, oldest use first; in memory with path ":memory:"."""

    def __init__(self, path: str | Path = ":memory:", cap: int = 1000) -> None:
        self.path, self.cap = path, cap
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path))
            self.db.executescript(_SCHEMA)
            self._clock = self.db.execute("SELECT COALESCE(MAX(used), 0) FROM conversations").fetchone()[0]
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(f"cannot open the Discord conversations file {path}: {exc}; "
                               "move it away to start without the old conversations") from None

    def __contains__(self, key: object) -> bool:
        return self.db.execute("SELECT 1 FROM conversations WHERE id = ?", (key,)).fetchone() is not None

    def __getitem__(self, key: int) -> list[Turn]:
        turns = self.get(key)
        if turns is None:
            raise KeyError(key)
        return turns

    def get(self, key: int, default: list[Turn] | None = None) -> list[Turn] | None:
        """The conversation's turns, oldest first, or `default` when it is not followed."""
        if key not in self:
            return default
        rows = self.db.execute("SELECT question, standalone, answer FROM turns WHERE conversation = ? "
                               "ORDER BY seq", (key,))
        return [Turn(*row) for row in rows]

    def __iter__(self) -> Iterator[int]:
        return iter([row[0] for row in self.db.execute("SELECT id FROM conversations ORDER BY used")])

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]

    def follow(self, key: int) -> None:
        """Follow the conversation (now the most recently used); the least recently used past the cap go."""
        self._clock += 1
        with self.db:
            self.db.execute("INSERT INTO conversations (id, used) VALUES (?, ?) "
                            "ON CONFLICT (id) DO UPDATE SET used = excluded.used", (key, self._clock))
            extra = len(self) - self.cap
            if extra > 0:
                gone = [row[0] for row in self.db.execute(
                    "SELECT id FROM conversations ORDER BY used LIMIT ?", (extra,))]
                for table, column in (("conversations", "id"), ("turns", "conversation"),
                                      ("messages", "conversation")):
                    self.db.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(g,) for g in gone])

    def remember(self, key: int, turn: Turn | None, messages: Iterable[int] = ()) -> None:
        """Add a turn (None: none to add) and the bot's messages of it; keeps the last MAX_TURNS turns."""
        self.follow(key)
        with self.db:
            if turn is not None:
                seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation = ?",
                                      (key,)).fetchone()[0]
                self.db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?)",
                                (key, seq, turn.question, turn.standalone, turn.answer))
                self.db.execute("DELETE FROM turns WHERE conversation = ? AND seq <= ?", (key, seq - MAX_TURNS))
            self.db.executemany("INSERT OR REPLACE INTO messages VALUES (?, ?)", [(m, key) for m in messages])

    def of_message(self, message_id: int) -> int | None:
        """The conversation a bot message belongs to, or None."""
        row = self.db.execute("SELECT m.conversation FROM messages m JOIN conversations c ON c.id = m.conversation "
                              "WHERE m.message = ?", (message_id,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        """Close the file."""
        self.db.close()
