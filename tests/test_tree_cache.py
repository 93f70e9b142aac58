"""The report tree is listed whole only when something in it changed.

An admin's cron runs the connector every day, and on most days nobody has uploaded anything. Nextcloud
changes a folder's ETag whenever anything beneath it changes (an upload by a unit's member or through an
upload-only link, a delete, a rename, a new folder: checked on Nextcloud 34), and so does the embedded
server. So a run asks for the report root's ETag (one PROPFIND Depth 1, which also names the ETags of the
unit folders) and reuses the last listing, kept beside the state, when the root's has not moved; otherwise
it lists again only the unit folders whose ETag moved. On a generic WebDAV server, whose folder ETags may
not move, it lists the whole tree every time.
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests
import tomli_w
from dav_faults import Faults
from helpers import run_cli as cli

from connector.commands import Job
from connector.config import load_config
from connector.dav.http import join_url
from connector.dav.xml import href_path
from connector.embedded import EmbeddedServers

YEAR = date.today().year
PLAN = f"""KẾ HOẠCH
thực hiện chuyên đề năm {YEAR}

II. NHIỆM VỤ
1. Xây dựng kế hoạch thực hiện chuyên đề của đơn vị, hoàn thành trước ngày 31/12/{YEAR}.
2. Báo cáo kết quả thực hiện chuyên đề hằng quý.
"""
ROOT = f"Báo cáo/CHUYEN-DE-{YEAR}"  # the plan's report root, as the config below names it
UNITS = [{"id": f"cb-{c}", "name": f"Chi bộ {c.upper()}", "group": f"chi-bo-{c}", "kind": "chi bộ cơ sở"} for c in "abc"]


def small_plan(tmp: Path) -> Path:
    path = tmp / "ke-hoach-chuyen-de.txt"
    path.write_text(PLAN, encoding="utf-8")
    return path


class Site:
    """The embedded servers as `serve` keeps them up (each run uses them), every WebDAV request recorded."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.faults = Faults()  # no faults: the log of what the servers were asked
        self.servers = EmbeddedServers(tmp / "data", middleware=self.faults.wrap).start()
        self.servers._write_serving_file()  # what `serve` does: sync and collect attach to these servers
        (tmp / "units.toml").write_text(tomli_w.dumps({"units": UNITS}), encoding="utf-8")
        self.config = self.write_config("embedded")

    def write_config(self, kind: str) -> Path:
        server = {"kind": "embedded", "data_dir": str(self.tmp / "data")}
        if kind == "dav":  # the same servers, as any WebDAV/CalDAV server
            secret = self.tmp / "password"
            secret.write_text(self.servers.password + "\n")
            secret.chmod(0o600)
            server = {"kind": "dav", "user": self.servers.user, "password_file": str(secret),
                      "caldav_home": self.servers.calendar_home, "files_root": self.servers.files_root}
        path = self.tmp / f"{kind}.toml"
        path.write_text(tomli_w.dumps({
            "server": server,
            "plan": {"document": str(small_plan(self.tmp)), "units": str(self.tmp / "units.toml"), "root_folder": ROOT},
            "state": {"dir": str(self.tmp / f"state-{kind}")}}), encoding="utf-8")
        return path

    def run(self, command: str, config: Path | None = None) -> list[tuple[str, str]]:
        """One CLI run; returns the PROPFINDs the WebDAV server saw: (depth, path below the plan's root)."""
        self.faults.log.clear()
        code, out, err = cli(command, "-c", config or self.config, *(["--json"] if command == "sync" else []))
        assert code == 0, err + out
        if command == "sync":
            result = json.loads(out)
            assert result["failed"] == []
        root = "/" + ROOT
        paths = [(s.headers.get("Depth", "infinity"), s.path.encode("latin-1").decode("utf-8"))  # WSGI's PATH_INFO
                 for s in self.faults.seen("PROPFIND", "webdav")]
        return [(depth, path[len(root):].strip("/")) for depth, path in paths if path.startswith(root)]

    def settle(self) -> None:
        """Runs until the next sees nothing new: the sync makes the folders, the first collect lists them and
        uploads the register, the second lists the register's folder again."""
        self.run("sync")
        self.run("collect")  # uploads the register
        self.run("collect")

    def upload(self, path: str, data: bytes) -> None:
        """Someone puts a file into the report tree through WebDAV (as a unit's member would)."""
        with requests.Session() as s:
            s.trust_env, s.auth = False, (self.servers.user, self.servers.password)
            r = s.put(join_url(self.servers.files_root, f"{ROOT}/{path}"), data=data, timeout=30)
            assert r.status_code in (201, 204), r.status_code

    def files_in_register(self) -> set[str]:
        """The reports the last collection found (not those it remembers as gone)."""
        path = next((self.tmp / "state-embedded").glob("*-register.json"))
        reg = json.loads(path.read_text(encoding="utf-8"))
        files = [f for row in reg["rows"] for f in row["files"]] + reg["unassigned"]
        return {f["name"] for f in files if not f.get("removed")}

    def tree_cache(self) -> Path:
        [path] = (self.tmp / "state-embedded").glob("*-tree.json")
        return path

    def stop(self) -> None:
        self.servers._remove_serving_file()
        self.servers.stop()


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path)
    try:
        yield s
    finally:
        s.stop()


def folders_of(site: Site, unit: str) -> list[str]:
    """The folders made for a unit, relative to the plan's root, in name order."""
    base = site.servers.files_dir / ROOT
    return sorted(str(p.relative_to(base)) for p in (base / f"Chi bộ {unit}").rglob("*") if p.is_dir())


def test_a_sync_with_nothing_new_reads_only_the_roots_etag(site):
    assert site.run("sync") == [("infinity", "")]  # nothing there yet: the folders are made
    assert site.run("sync") == [("infinity", "")]  # what the first one made is listed
    # From then on one PROPFIND Depth 1 of the root, and the listing kept beside the state.
    assert site.run("sync") == [("1", "")]
    assert site.run("sync") == [("1", "")]


def test_a_report_a_unit_uploads_shows_in_the_next_collect(site):
    site.settle()
    assert site.run("collect") == [("1", "")]  # nothing new: nothing listed
    folder = folders_of(site, "B")[-1]

    def listed_again(seen: list[tuple[str, str]]) -> set[str]:
        assert seen[0] == ("1", "") and all(depth == "infinity" for depth, _ in seen[1:])
        return {path for _, path in seen[1:]} - {"_Tổng hợp"}  # the register folder: when the last run uploaded

    site.upload(f"{folder}/bao-cao-quy.docx", b"PK\x03\x04 report")
    assert listed_again(site.run("collect")) == {"Chi bộ B"}  # only the unit folder whose ETag moved
    assert "bao-cao-quy.docx" in site.files_in_register()

    # A report replaced by one of the same size, then deleted: each is seen, in that unit's folder only.
    site.upload(f"{folder}/bao-cao-quy.docx", b"PK\x03\x04 REPORT")
    assert listed_again(site.run("collect")) == {"Chi bộ B"}
    (site.servers.files_dir / ROOT / folder / "bao-cao-quy.docx").unlink()
    assert listed_again(site.run("collect")) == {"Chi bộ B"}
    assert "bao-cao-quy.docx" not in site.files_in_register()
    # A folder renamed deep in another unit's tree.
    deep = site.servers.files_dir / ROOT / folders_of(site, "C")[-1]
    deep.rename(deep.with_name(deep.name + " (cũ)"))
    assert listed_again(site.run("collect")) == {"Chi bộ C"}


def test_a_lost_or_damaged_listing_costs_one_full_listing(site):
    site.settle()
    cache = site.tree_cache()
    cache.unlink()
    assert site.run("sync") == [("infinity", "")]
    assert site.run("sync") == [("1", "")]

    good = json.loads(cache.read_text(encoding="utf-8"))
    cache.write_text('{"version": 1, "key": {"broken', encoding="utf-8")
    assert site.run("collect") == [("infinity", "")]
    assert json.loads(cache.read_text(encoding="utf-8"))["rows"] == good["rows"]  # written afresh
    for damaged in ({**good, "key": {"root": "Báo cáo/KHAC"}},  # another tree's listing
                    {**good, "rows": [["only a path"]]},  # rows of another shape
                    {**good, "version": 99}):
        cache.write_text(json.dumps(damaged), encoding="utf-8")
        assert site.run("collect") == [("infinity", "")]
    assert site.run("collect") == [("1", "")]


def test_a_generic_webdav_server_is_listed_whole_every_time(site):
    dav = site.write_config("dav")
    site.run("sync", dav)
    for _ in range(2):
        assert site.run("sync", dav) == [("infinity", "")]
    assert not list((site.tmp / "state-dav").glob("*-tree.json"))


def test_the_embedded_servers_folder_etag_moves_with_anything_beneath_it(embedded, dav_session):
    def etag(path: str, depth: str = "0") -> str:
        r = dav_session.request("PROPFIND", join_url(embedded.files_root, path), headers={"Depth": depth},
                                data=b'<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>')
        assert r.status_code == 207
        return r.text.split("getetag>", 1)[1].split("<", 1)[0]

    for folder in ("R", "R/A", "R/A/B", "R/C"):
        assert dav_session.request("MKCOL", join_url(embedded.files_root, folder)).status_code == 201
    steps = [
        ("upload deep", lambda: dav_session.put(join_url(embedded.files_root, "R/A/B/x.docx"), data=b"1")),
        ("overwrite, same size", lambda: dav_session.put(join_url(embedded.files_root, "R/A/B/x.docx"), data=b"2")),
        ("new folder deep", lambda: dav_session.request("MKCOL", join_url(embedded.files_root, "R/A/B/D"))),
        ("rename deep", lambda: dav_session.request("MOVE", join_url(embedded.files_root, "R/A/B/D"),
                                                    headers={"Destination": join_url(embedded.files_root, "R/A/B/E")})),
        ("delete", lambda: dav_session.delete(join_url(embedded.files_root, "R/A/B/x.docx"))),
    ]
    before = etag("R")
    assert etag("R") == before and etag("R", "infinity") == before  # stable, and the same in a whole listing
    for what, change in steps:
        sibling = etag("R/C")
        assert change().status_code in (201, 204), what
        assert etag("R") != before, what
        assert etag("R/C") == sibling, what  # a folder beside the change keeps its ETag
        before = etag("R")


@pytest.mark.parametrize("href", [
    "/B%C3%A1o%20c%C3%A1o/21-KL-TW/Chi%20b%E1%BB%99%20A/", "/remote.php/dav/files/u/B%c3%a1o%20c%c3%a1o/x.docx",
    "https://cloud.example.org/remote.php/dav/files/u/a%2Fb/?x=1#y", "  /Bo\u0301%20cao/  ", "/bad%C3/%A1%zz/",
    "//host/path/", "/a?b=%20", "relative/p%C3%A1th", "/plain/ascii/", "/"])
def test_a_listings_hrefs_decode_as_they_always_did(href):
    """The faster decoding (segment by segment, remembered) gives what urlsplit + unquote + NFC gave."""
    assert href_path(href) == unicodedata.normalize("NFC", unquote(urlsplit(href.strip()).path))


@pytest.mark.nextcloud
@pytest.mark.slow
def test_on_nextcloud_a_members_upload_and_a_file_drop_show_in_the_next_collect(nc_case):
    [unit] = nc_case.units(1, members=1, file_drop=True)
    cfg = nc_case.config(plan=small_plan(nc_case.tmp), sync={"folders_ahead_days": 800})
    code, out, err = nc_case.run("sync", "-c", cfg)
    assert code == 0, err + out
    token = re.search(rf"upload-only link for {re.escape(unit.id)}: (\S+)", out).group(1).rstrip("/").rsplit("/", 1)[-1]
    folder = next(o.folder for o in Job(load_config(str(cfg))).obligations if o.task == 1)

    def collect() -> tuple[int, set[str]]:
        """A collect: its requests and the reports its register found."""
        code, out, err = nc_case.run("collect", "-c", cfg)
        assert code == 0, err + out
        reg = json.loads(next((nc_case.tmp / "state").glob("*-register.json")).read_text(encoding="utf-8"))
        files = [f for row in reg["rows"] for f in row["files"]] + reg["unassigned"]
        return int(re.findall(r"^(\d+) HTTP requests$", out, re.M)[-1]), {f["name"] for f in files if not f.get("removed")}

    collect()  # lists the tree and uploads the register
    collect()  # lists the register's folder again
    assert collect() == (2, set())  # nothing new: the root's ETag and the calendar home, nothing listed

    # A member of the unit's group uploads into the folder shared with them (their own path to it).
    member = unit.members[0].session(app=False)
    files = f"{nc_case.url}/remote.php/dav/files/{quote(unit.members[0].user)}/"
    assert member.put(join_url(files, f"{folder}/ke-hoach.pdf"), data=b"%PDF-1.4 ke hoach\n").status_code == 201
    assert "ke-hoach.pdf" in collect()[1]

    # Someone without an account sends a report through the unit's upload-only link.
    anon = requests.Session()
    anon.trust_env = False
    r = anon.put(f"{nc_case.url}/public.php/dav/files/{token}/{quote('NV02 - Báo cáo quý.docx')}", data=b"PK\x03\x04")
    assert r.status_code == 201, r.status_code
    assert {"ke-hoach.pdf", "NV02 - Báo cáo quý.docx"} <= collect()[1]
