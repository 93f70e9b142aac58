"""The `plan-connector` command line.

Each sub-command's handler lives next to the code it drives and is imported only when used,
so `plan-connector import` does not pay for the HTTP stack.
"""
from __future__ import annotations

import argparse
import os
import importlib
import logging
import sys

from connector.errors import ConnectorError
from connector.log import report_failure, setup_logging

# sub-command -> "module:function"; each function takes the parsed args and returns an exit code.
HANDLERS = {
    "import": "connector.plan.command:run",
    "sync": "connector.handlers:sync",
    "collect": "connector.handlers:collect",
    "run": "connector.handlers:run",
    "check": "connector.handlers:check",
    "purge": "connector.handlers:purge",
    "serve": "connector.embedded:serve_command",
    "demo": "connector.demo:run",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("plan-connector")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    p.add_argument("--log-file", help="write logs to this file instead of stderr")
    p.add_argument("--log-format", choices=["text", "json"], default="text", help="log line format")
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")


def _server_job(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="plan-connector.toml (default: ./plan-connector.toml, else the embedded default)")
    p.add_argument("--state-dir", help="state directory (default: $XDG_STATE_HOME/plan-connector)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plan-connector",
        description="Turn an implementation plan into Nextcloud calendars, task lists, report folders and a status register.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("import", help="read a plan document and show the tasks and deadlines it understood")
    p.add_argument("path", help="plan document (.txt, .md, .docx, or .pdf with a text layer)")
    p.add_argument("--json", action="store_true", help="print the machine-readable form")
    p.add_argument("-o", "--output", help="write (or update) an editable plan mapping TOML")
    p.add_argument("--strict", action="store_true", help="exit non-zero when any milestone is flagged")
    p.add_argument("--vocabulary", help="deadline vocabulary TOML (default: mappings/vocabulary.toml)")
    p.add_argument("--units", metavar="FILE", help="units.toml: show which lead and cooperating names match which "
                   "unit ids (and write them with -o)")
    p.add_argument("--previous", metavar="FILE", help="the previous version (mapping .toml or document; default: the "
                   "mapping -o rewrites): show which task is which, so renumbered tasks keep their folders")
    _common(p)

    p = sub.add_parser("sync", help="create or update calendars, task lists and report folders")
    _server_job(p)
    p.add_argument("--dry-run", action="store_true", help="print the changes without making them")
    p.add_argument("--force", action="store_true", help="allow deleting more than half of the owned items")
    _common(p)

    p = sub.add_parser("collect", help="read the report folders into the status register")
    _server_job(p)
    p.add_argument("--as-of", help="judge as of this date (YYYY-MM-DD); later uploads do not count yet")
    p.add_argument("--out", help="directory for register.json/.csv/.xlsx/.html (default: state dir)")
    p.add_argument("--dry-run", action="store_true", help="do not write anything to the server")
    _common(p)

    p = sub.add_parser("run", help="sync, then collect, then reminders (what cron runs)")
    _server_job(p)
    p.add_argument("--as-of", help="judge as of this date (YYYY-MM-DD)")
    p.add_argument("--out", help="directory for the register files (default: state dir)")
    p.add_argument("--dry-run", action="store_true", help="print the changes and reminders without making them")
    p.add_argument("--force", action="store_true", help="allow deleting more than half of the owned items")
    _common(p)

    p = sub.add_parser("check", help="verify config, connectivity, authentication and server capabilities")
    _server_job(p)
    _common(p)

    p = sub.add_parser("purge", help="remove the plan's calendars, to-dos, empty folders and shares (never a report)")
    _server_job(p)
    p.add_argument("--dry-run", action="store_true", help="list what would be removed (the default without --yes)")
    p.add_argument("--yes", action="store_true", help="really remove it")
    _common(p)

    p = sub.add_parser("serve", help="run the embedded CalDAV and WebDAV servers and print their URLs")
    p.add_argument("--data-dir", default="plan-connector-data", help="where the embedded servers keep their data")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--caldav-port", type=int, default=5232)
    p.add_argument("--webdav-port", type=int, default=5233)
    _common(p)

    p = sub.add_parser("demo", help="the whole job on the embedded servers with the bundled sample plan")
    p.add_argument("--data-dir", default="plan-connector-data", help="where the embedded servers keep their data")
    p.add_argument("--out", help="directory for the register files (default: <data-dir>/register)")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    _common(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    setup_logging(level, args.log_file, args.log_format)
    module_name, func_name = HANDLERS[args.command].split(":")
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        return int(handler(args) or 0)
    except ConnectorError as exc:
        logging.getLogger("plan-connector").debug("error", exc_info=args.debug)
        report_failure(f"plan-connector: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        print("plan-connector: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, no traceback
        if args.debug:
            raise
        report_failure(f"plan-connector: unexpected error: {type(exc).__name__}: {exc} (rerun with --debug for details)")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
