"""Nothing lost (issue 10): the connector never deletes, moves or overwrites a file it did not create.

On the embedded servers units file reports everywhere they could: in their folders, at the top of a unit
or task folder, beside the plan's tree, in the coordinators' register folder, as a file where a folder
will be needed, and a coordinator edits the uploaded register.csv. Every report is then listed (path,
size, ETag) before and after each command (sync, collect, run, with --force, after a plan change that
moves a date and rewords a task, after a units change that removes, renames and adds units): the
listings are identical.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from helpers import chi_bo_units

from connector.cli import main
from connector.dav.http import HttpClient
from connector.dav.webdav import WebDAVClient

pytestmark = pytest.mark.server
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SEED = Path(__file__).resolve().parents[1] / "mappings/plans/ke-hoach-21-kl-tw.txt"
ROOT = "Báo cáo/21-KL-TW"
REGISTER = f"{ROOT}/_Tổng hợp"
OWN = {f"{REGISTER}/register.{ext}" for ext in ("json", "xlsx", "html")}  # what the connector writes (csv: edited)
UNITS = chi_bo_units("A", "B", "C")


def listing(webdav: WebDAVClient) -> dict[str, tuple[int | None, str | None]]:
    """Every file under the WebDAV root but the register files the connector writes: path -> (size, ETag)."""
    return {e.path: (e.size, e.etag) for e in webdav.list_tree("") if not e.is_dir and e.path not in OWN}


@pytest.fixture
def setup(tmp_path, embedded):
    units = tmp_path / "units.toml"
    units.write_text(UNITS, encoding="utf-8")
    mapping = tmp_path / "plan.toml"
    mapping.write_text("", encoding="utf-8")
    (tmp_path / "pw").write_text(embedded.password + "\n", encoding="utf-8")
    (tmp_path / "pw").chmod(0o600)
    cfg = tmp_path / "plan-connector.toml"
    cfg.write_text(f'[server]\nkind = "dav"\ncaldav_home = "{embedded.calendar_home}"\n'
                   f'files_root = "{embedded.files_root}"\nuser = "{embedded.user}"\npassword_file = "pw"\n'
                   f'[plan]\ndocument = "{SEED}"\nmapping = "{mapping}"\nunits = "{units}"\n'
                   f'[state]\ndir = "{tmp_path / "state"}"\n', encoding="utf-8")
    session = requests.Session()
    session.auth, session.trust_env = (embedded.user, embedded.password), False
    webdav = WebDAVClient(HttpClient(session), embedded.files_root)
    yield cfg, units, mapping, webdav, embedded
    session.close()


def run(cfg: Path, tmp_path: Path, *args: str) -> int:
    command = [args[0], "-c", str(cfg), *args[1:]]
    if args[0] in ("collect", "run"):
        command += ["--out", str(tmp_path / "out"), "--as-of", "2022-04-05"]
    return main(command)


def test_every_report_stays_as_it_was_through_every_command(setup, tmp_path, capsys):
    cfg, units, mapping, webdav, embedded = setup
    assert run(cfg, tmp_path, "run") == 0

    def put(path: str, data: bytes, when: datetime | None = None) -> None:
        parts = path.split("/")
        for i in range(1, len(parts)):
            if not webdav.exists("/".join(parts[:i])):
                webdav.mkcol("/".join(parts[:i]))
        webdav.put(path, data)
        if when:
            embedded.set_file_time(path, when)

    task3 = next(e.path for e in webdav.list_tree(f"{ROOT}/Chi bộ A") if e.is_dir and e.name.startswith("03 "))
    put(f"{task3}/Tháng 02-2022/ke-hoach.pdf", b"%PDF-1.4 ke hoach\n", datetime(2022, 2, 20, 9, tzinfo=TZ))
    put(f"{task3}/Tháng 02-2022/Phụ lục/danh-sach.xlsx", b"PK\x03\x04 list")  # a sub-folder of their own
    put(f"{task3}/ghi-chu.docx", b"PK\x03\x04 note at the task folder's top")
    put(f"{ROOT}/Chi bộ B/NV07 - Báo cáo.docx", b"PK\x03\x04 named by the rule")
    put(f"{ROOT}/Chi bộ C/Báo cáo năm 2022.pdf", b"%PDF-1.4 C's report\n")  # C will be removed from the plan
    put(f"{ROOT}/để nhầm chỗ.pdf", b"%PDF-1.4 stray")
    put(f"{ROOT}/Chi bộ D", b"a file where a new unit's folder will be needed")
    put(f"{REGISTER}/ghi-chu-cua-van-phong.docx", b"PK\x03\x04 the coordinators' own note")
    put(f"{REGISTER}/register.csv", "Đã sửa tay;\r\n".encode("utf-8-sig"))  # a coordinator edited the copy
    put("Tài liệu khác/bien-ban.pdf", b"%PDF-1.4 outside the plan's tree")
    before = listing(webdav)
    assert len(before) == 10

    def unchanged(after: str) -> None:
        assert listing(webdav) == before, f"reports changed after {after}"

    for args in (("sync",), ("collect",), ("run",), ("sync", "--force"), ("run", "--force"), ("collect",)):
        run(cfg, tmp_path, *args)
        unchanged(" ".join(args))

    # A new version of the plan: task 3's date moves, task 7 is reworded.
    mapping.write_text("[overrides.tasks.3.milestones.1]\ndue = 2022-03-31\n\n"
                       '[overrides.tasks.7]\ntitle = "Xây dựng và ban hành kế hoạch thực hiện Kết luận"\n',
                       encoding="utf-8")
    for args in (("sync",), ("run",), ("run", "--force")):
        run(cfg, tmp_path, *args)
        unchanged(f"the plan change, {' '.join(args)}")

    # The units file changes: C is removed, B renamed, D added (its folder name is taken by a file).
    units.write_text(UNITS.replace('name = "Chi bộ B"', 'name = "Chi bộ Bờ"').replace(
        'id = "cb-c"\nname = "Chi bộ C"\ngroup = "chi-bo-c"', 'id = "cb-d"\nname = "Chi bộ D"\ngroup = "chi-bo-d"'),
        encoding="utf-8")
    for args in (("sync",), ("sync", "--force"), ("run", "--force"), ("collect",)):
        run(cfg, tmp_path, *args)
        unchanged(f"the units change, {' '.join(args)}")
    capsys.readouterr()
