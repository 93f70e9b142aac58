"""The status register: obligations + files + as-of date -> rows (pure) -> JSON/CSV/XLSX/HTML."""
from connector.register.export import write_all, write_csv, write_html, write_json, write_xlsx
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

__all__ = [
    "IgnoredFile", "Register", "RegisterFile", "RegisterRow", "UnassignedFile", "compute_register",
    "load_register", "register_from_json", "register_to_json", "status_of",
    "write_all", "write_csv", "write_html", "write_json", "write_xlsx",
]
