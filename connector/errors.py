"""One exception family; each class carries the process exit code the CLI uses.

Exit codes (documented in README): 0 ok, 1 some items failed, 2 bad config or input,
3 server unreachable or authentication failed, 4 another run holds the lock.
"""
from __future__ import annotations


class ConnectorError(Exception):
    """Base error: its message is one line a person can act on, never holding a secret (connector.log.redact:
    a server that echoes the password in its answer does not get it into an error, a log line or `--json`)."""

    exit_code = 1

    def __init__(self, *args):
        from connector.log import redact

        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class InputError(ConnectorError):
    """Bad plan document, mapping, units file or config. Names the file (and line)."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(f"{where}{message}")


class PlanError(InputError):
    """The plan document cannot be read as a plan."""


class ConfigError(InputError):
    """The config or a mapping is invalid."""


class ServerError(ConnectorError):
    """A server answered with an error, or did not answer.

    Carries the HTTP status and, for OCS, the OCS status code (as nc_py_api does).
    """

    def __init__(self, message: str, *, status: int | None = None, ocs_status: int | None = None,
                 method: str | None = None, url: str | None = None):
        self.status = status
        self.ocs_status = ocs_status
        self.method = method
        self.url = url
        super().__init__(message)


class AuthError(ServerError):
    """401: stop at once, never retry (Nextcloud throttles repeated failed logins)."""

    exit_code = 3


class UnreachableError(ServerError):
    """Connection refused, DNS failure, TLS failure or timeout."""

    exit_code = 3


class PreconditionFailed(ServerError):
    """412: the item changed (or exists) on the server; re-read and re-decide."""


class LockedError(ConnectorError):
    """Another run holds the lock."""

    exit_code = 4


class RateLimited(ServerError):
    """429 (or Nextcloud's "limit reached" 403): the server allows no more of this for now.

    `retry_after` is the wait in seconds the server asked for (None when it named none, as Nextcloud's
    calendar and share limits do). Callers stop sending more of the same kind, finish everything else,
    and leave the rest to a later run.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw):
        self.retry_after = retry_after
        super().__init__(message, **kw)


class PasswordConfirmationRequired(ServerError):
    """Nextcloud 34 refuses this provisioning call with an app password (403 "Password confirmation is required")."""
