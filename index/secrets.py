"""The one rule for secrets in text that leaves the process: error lines, logs, progress, JSON, Discord.

A secret is shown as *** wherever it is recognised:
- the password of a URL's user information (`scheme://user:***@host`), and the whole user
  information of an http(s) URL (a bare `https://TOKEN@host` is a token, not a user name);
- `password=`, `sslpassword=` (libpq's URL parameters and key=value strings), `api_key=`,
  `apikey=`, `token=`, `access_token=`, `secret=`, `client_secret=` and `key=` values;
- the word after `Bearer` (an Authorization header repeated in a server's error);
- the values of the environment variables that hold secrets (SECRET_VARIABLES), wherever they
  appear, percent-encoded or not.
The rule is plain text matching, so it holds for messages built from any source (a flag, the
environment, a settings file, a server's or a database's own error text).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

MASK = "***"
# Variables whose values are credentials: citebot's own, and those its libraries read.
SECRET_VARIABLES = ("CITEBOT_LLM_API_KEY", "CITEBOT_EMBED_API_KEY", "DISCORD_TOKEN", "PGPASSWORD", "HF_TOKEN",
                    "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY")
MIN_SECRET_CHARS = 4  # a shorter "secret" would mask ordinary words in every message

# scheme://userinfo@ — greedy up to the authority's last @ (a password may hold an unencoded @).
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#\s'\"<>]*)@")
_PARAMETER = re.compile(
    r"(?i)(?P<name>\b(?:ssl)?password|\bpasswd|\bapi[_-]?key|\baccess[_-]?token|\btoken|\bclient[_-]?secret"
    r"|\bsecret|\bkey)(?P<sep>\s*=\s*)"
    # A quoted value, or up to the next separator (a sentence's closing ':', '.' or ')' is kept).
    r"(?P<value>'(?:[^'\\]|\\.)*'|[^&\s'\"<>,;]+?(?=[:.)]?(?:[&\s'\"<>,;]|$)))")
_BEARER = re.compile(r"(?i)\b(?P<word>bearer\s+)[^\s'\"<>,;]+")


def _userinfo(match: re.Match[str]) -> str:
    scheme, info = match["scheme"], match["info"]
    user, colon, _password = info.partition(":")
    if colon:
        return f"{scheme}{user}:{MASK}@"
    if scheme.lower() in ("http://", "https://"):  # a lone user name over HTTP is a token
        return f"{scheme}{MASK}@"
    return match[0]


def _known_secrets(extra: Iterable[str]) -> set[str]:
    """The secret values to mask: the extra ones and those of the secret environment variables."""
    values = [*extra, *(os.environ.get(name, "") for name in SECRET_VARIABLES)]
    found: set[str] = set()
    for value in values:
        value = value.strip()
        if len(value) >= MIN_SECRET_CHARS:
            found.update({value, quote(value, safe=""), unquote(value)})
    return {v for v in found if len(v) >= MIN_SECRET_CHARS}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret it holds (see the module's rule, plus `secrets`) replaced by ***."""
    if not text:
        return text
    for secret in sorted(_known_secrets(secrets), key=len, reverse=True):  # the longest first: no partial masks
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(_userinfo, text)
    text = _PARAMETER.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    return _BEARER.sub(lambda m: f"{m['word']}{MASK}", text)


def redact_url(url: str) -> str:
    """A URL with its password, token and secret parameters replaced by ***, fit for messages and logs."""
    return redact(url)


class RedactingFilter(logging.Filter):
    """A logging filter that applies `redact` to each record's message and its traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place (always kept)."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def redact_logs(logger: logging.Logger | None = None) -> None:
    """Put a RedactingFilter on every handler of `logger` (the root logger by default), once."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
