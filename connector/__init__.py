"""plan-connector: from a Party committee implementation plan to Nextcloud calendars, tasks,
report folders and a status register.

The package reads in the order the data flows:
    plan/      document -> Plan (tasks, milestones, deadline phrases -> dates)
    schedule   Plan + units -> Obligations (unit x milestone x period)
    render/    Obligations -> iCalendar events and to-dos, folder names
    dav/       small HTTP clients: CalDAV, WebDAV (one injected requests.Session)
    nextcloud/ Nextcloud-only: OCS (groups, shares, notifications), calendar sharing
    sync/      reconciler: desired state vs. server state -> smallest set of changes
    collect    report tree -> submissions
    register/  submissions -> statuses -> JSON, CSV, XLSX, HTML
    embedded   the embedded default: Radicale + WsgiDAV on 127.0.0.1
    cli        the command line
"""

__version__ = "0.1.0"
