"""Named exceptions of the engine. The CLI and the bot turn each into one clear sentence."""

import errno
import sqlite3


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


class InvalidInput(ArchivistError):
    """A question, query, filter or count given to the engine cannot be used as it is."""


class ArchiveUnavailable(ArchivistError):
    """The archive's folder or database cannot be opened, read or written."""


class ArchiveCorrupt(ArchiveUnavailable):
    """The archive database is damaged or is not an archive at all."""


class ArchiveReadOnly(ArchiveUnavailable):
    """The archive was opened for reading only, or needs an upgrade that only a writing command may make."""


class StorageFull(ArchiveUnavailable):
    """The disk (or quota) holding the archive is full; nothing was half-written."""


_FULL = {errno.ENOSPC, errno.EDQUOT}
_DENIED = {errno.EROFS, errno.EACCES, errno.EPERM}


def system_error(error: OSError | sqlite3.Error) -> ArchivistError:
    """The named error, with one sentence, for a failure of the disk or of SQLite under the archive."""
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        reason = error.strerror or str(error)
        if error.errno in _FULL:
            return StorageFull(f"The disk is full{where}; nothing half-written was kept: free some space and retry.")
        if error.errno in _DENIED:
            return ArchiveReadOnly(f"Cannot write{where}: {reason}.")
        return ArchiveUnavailable(f"Cannot use the archive's files{where}: {reason}.")
    message = str(error)
    if "disk is full" in message or "disk I/O error" in message:
        return StorageFull(f"The disk holding the archive failed ({message}); nothing half-written was kept.")
    if "readonly" in message or "read-only" in message:
        return ArchiveReadOnly("The archive is read-only here; writing commands need write access to its folder.")
    if isinstance(error, sqlite3.DatabaseError) and ("not a database" in message or "malformed" in message):
        return ArchiveCorrupt(f"The archive database is damaged ({message}); restore it from a backup.")
    return ArchiveUnavailable(f"The archive database failed ({message}).")


class FetchRefused(ArchivistError):
    """A URL may not be fetched: its scheme, its address (not public) or the site's robots.txt forbids it."""


class FetchFailed(ArchivistError):
    """A fetch did not complete: the site was unreachable, too slow, too large or answered with an error."""


class SyncBusy(ArchivistError):
    """A sync of the live sources is already running."""
