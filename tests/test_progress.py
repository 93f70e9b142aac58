"""The progress bar shows on a terminal for long work, never under cron or a pipe."""
import io

from connector.progress import Progress


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_shows_on_a_terminal_for_long_work():
    out = Tty()
    with Progress(100, "calendar items", stream=out) as p:
        for _ in range(100):
            p.advance()
    assert "100/100" in out.getvalue() and out.getvalue().endswith("\n")


def test_progress_is_silent_in_a_pipe_and_for_short_work():
    pipe = io.StringIO()
    with Progress(1000, "x", stream=pipe) as p:
        p.advance()
    short = Tty()
    with Progress(10, "x", stream=short) as p:
        p.advance()
    assert pipe.getvalue() == "" and short.getvalue() == ""
