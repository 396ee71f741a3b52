"""Rate limits on questions: one per user every few seconds, and so many per channel per window.

Both record a question when they let it through; a question refused later (a full queue) is
released, so the asker may try again at once.
"""

from __future__ import annotations

import time
from collections import deque


class Cooldown:
    """At most one question per user every `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last: dict[int, float] = {}

    def wait_time(self, user_id: int, now: float | None = None) -> float:
        """Seconds the user must still wait (0 when free); records the question when free."""
        now = time.monotonic() if now is None else now
        remaining = self.seconds - (now - self.last.get(user_id, float("-inf")))
        if remaining > 0:
            return remaining
        if len(self.last) > 10_000:  # a long-running bot meets many users: forget the expired ones
            self.last = {u: t for u, t in self.last.items() if now - t < self.seconds}
        self.last[user_id] = now
        return 0.0

    def release(self, user_id: int) -> None:
        """Forget the user's last question (it was not taken)."""
        self.last.pop(user_id, None)


class ChannelLimit:
    """At most `limit` questions per channel in any `window` seconds (0: no limit)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.asked: dict[int, deque[float]] = {}

    def wait_time(self, channel_id: int, now: float | None = None) -> float:
        """Seconds until the channel may ask again (0 when it may); records the question when it may."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        times = self.asked.setdefault(channel_id, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            return self.window - (now - times[0])
        if len(self.asked) > 10_000:  # many channels: forget those with nothing in the window
            self.asked = {c: t for c, t in self.asked.items() if t and now - t[-1] < self.window or c == channel_id}
        times.append(now)
        return 0.0

    def release(self, channel_id: int) -> None:
        """Forget the channel's last question (it was not taken)."""
        times = self.asked.get(channel_id)
        if times:
            times.pop()
