"""Small helpers shared by the tests."""
import socket


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers that must keep their port across runs)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chi_bo_units(*letters: str) -> str:
    """A units.toml of "Chi bộ A", "Chi bộ B", … (ids cb-a, …, groups chi-bo-a, …)."""
    return "".join(f'\n[[units]]\nid = "cb-{x.lower()}"\nname = "Chi bộ {x}"\ngroup = "chi-bo-{x.lower()}"'
                   for x in letters) + "\n"


def run_cli(*argv) -> tuple[int, str, str]:
    """The CLI in this process: (exit code, stdout, stderr)."""
    import contextlib
    import io

    from connector.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()
