"""Is the configured server a Nextcloud at all? Asked once by `check`, and after a refusal by the jobs."""
from __future__ import annotations

from connector.errors import AuthError, ConfigError, ServerError, UnreachableError


def nextcloud_status(job) -> dict:
    """status.php of the configured server; a server that is no Nextcloud is a config error that says so."""
    url = job.cfg.server.url.rstrip("/") + "/status.php"
    resp = job.http.request("GET", url, expect=tuple(range(200, 600)))
    try:
        status = resp.json() if resp.status_code == 200 else None
    except ValueError:
        status = None
    if not isinstance(status, dict) or "versionstring" not in status:
        raise ConfigError(f"{job.cfg.server.url} is not a Nextcloud server (GET /status.php answered "
                          f"{resp.status_code}{'' if status is None else ' without a version'}): check server.url, "
                          "or use kind = \"dav\" with caldav_home and files_root for another CalDAV/WebDAV server",
                          path=job.cfg.path)
    return status


def explain_refusal(job, exc: ServerError) -> None:
    """A 403/404/405/501 from a `kind = "nextcloud"` server that is no Nextcloud becomes a config error
    that says so (instead of "forbidden … the account may not do this here"); otherwise nothing."""
    if (job.cfg.server.kind != "nextcloud" or isinstance(exc, (AuthError, UnreachableError))
            or exc.status not in (403, 404, 405, 501)):
        return
    nextcloud_status(job)
