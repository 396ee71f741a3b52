"""Domain errors. The core raises them; only the interfaces turn them into messages."""


class CitebotError(Exception):
    """Base class: a problem the user can fix, reported as one line without traceback."""


class InputError(CitebotError):
    """Bad user input: empty question, missing path, unreadable folder."""


class IndexMissingError(CitebotError):
    """No index has been built in the home folder yet."""


class IndexMismatchError(CitebotError):
    """The index was built with another embedding model or chunking."""


class IndexLockedError(CitebotError):
    """Another `citebot index` holds the lock on the home folder."""


class IndexCorruptError(CitebotError):
    """The index files cannot be read."""


class LiveGenerationLost(IndexCorruptError):
    """Generations remain but which one is live was lost; `citebot index` recovers it."""


class ModelError(CitebotError):
    """A model (embedding or LLM) is missing, corrupt or fails to load."""


class ConfigError(CitebotError):
    """A settings file or environment variable holds an invalid value."""
