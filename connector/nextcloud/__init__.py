"""Nextcloud-only features: OCS (groups, shares, notifications) and calendar sharing/publishing."""
from connector.nextcloud.calendars import publish_calendar, share_calendar, shared_groups, unshare_calendar
from connector.nextcloud.ocs import OCSClient, Share

__all__ = ["OCSClient", "Share", "publish_calendar", "share_calendar", "shared_groups", "unshare_calendar"]
