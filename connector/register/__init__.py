"""The status register: obligations + files + as-of date -> rows (pure) -> JSON/CSV/XLSX/HTML.

The exports (XlsxWriter among them) are imported when first used: a sync that only reads the last
register does not pay for them.
"""
from connector.register.status import (
    IgnoredFile,
    Register,
    RegisterFile,
    RegisterRow,
    UnassignedFile,
    compute_register,
    load_register,
    register_from_json,
    register_to_json,
    status_of,
)

_EXPORTS = ("write_all", "write_csv", "write_html", "write_json", "write_xlsx")

__all__ = [
    "IgnoredFile", "Register", "RegisterFile", "RegisterRow", "UnassignedFile", "compute_register",
    "load_register", "register_from_json", "register_to_json", "status_of", *_EXPORTS,
]


def __getattr__(name: str):
    if name in _EXPORTS:
        from connector.register import export

        return getattr(export, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
