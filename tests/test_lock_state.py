"""Unattended runs: two never overlap; the state survives crashes and can be deleted."""
import subprocess
import sys
import textwrap

import pytest

from connector.errors import LockedError
from connector.lock import RunLock
from connector.state import State


def test_a_second_run_is_refused_while_the_first_holds_the_lock(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(LockedError) as exc:
            RunLock(tmp_path).acquire()
        assert exc.value.exit_code == 4 and "another plan-connector run" in str(exc.value)
    with RunLock(tmp_path):  # released: the next run goes ahead
        pass


def test_lock_holds_across_processes(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from connector.lock import RunLock
        from connector.errors import LockedError
        try:
            RunLock(Path({str(tmp_path)!r})).acquire()
        except LockedError:
            sys.exit(4)
        sys.exit(0)
    """)
    with RunLock(tmp_path):
        assert subprocess.run([sys.executable, "-c", code]).returncode == 4
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_state_round_trip_and_damaged_state_starts_empty(tmp_path):
    st = State.open(tmp_path, "nextcloud:https://x:bot", "21-kl-tw")
    st.section("calendars")["pc-21-kl-tw-han"] = {"token": "t1"}
    st.save()
    again = State.open(tmp_path, "nextcloud:https://x:bot", "21-kl-tw")
    assert again.section("calendars")["pc-21-kl-tw-han"]["token"] == "t1"
    other_server = State.open(tmp_path, "nextcloud:https://y:bot", "21-kl-tw")
    assert other_server.data == {}
    again.path.write_text("{ not json")
    assert State.open(tmp_path, "nextcloud:https://x:bot", "21-kl-tw").data == {}
