"""The HTTP edge for DAV servers: one Session, CalDAV and WebDAV clients, multistatus parsing."""
from connector.dav.caldav import CalDAVClient, CalendarInfo, Listing, normalize_etag
from connector.dav.http import HttpClient, join_url, make_session
from connector.dav.webdav import Entry, WebDAVClient

__all__ = ["CalDAVClient", "CalendarInfo", "Entry", "HttpClient", "Listing", "WebDAVClient",
           "join_url", "make_session", "normalize_etag"]
