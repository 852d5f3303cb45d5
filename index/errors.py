"""Named exceptions of the engine. The CLI and the bot turn each into one clear sentence."""


class ArchivistError(Exception):
    """Base class: the message is a complete sentence fit to show a user."""


class SourceError(ArchivistError):
    """An input file or record cannot be read as articles."""


class NotFound(ArchivistError):
    """The requested article or resource does not exist."""


class IndexBusy(ArchivistError):
    """A re-index is already running."""


class IndexUnavailable(ArchivistError):
    """The vector index is missing or could not be recovered."""


class ConfigError(ArchivistError):
    """A setting has an invalid value."""


class FetchRefused(ArchivistError):
    """A URL may not be fetched: its scheme, its address (not public) or the site's robots.txt forbids it."""


class FetchFailed(ArchivistError):
    """A fetch did not complete: the site was unreachable, too slow, too large or answered with an error."""


class SyncBusy(ArchivistError):
    """A sync of the live sources is already running."""
