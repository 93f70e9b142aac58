"""Links people click, in events, to-dos and the register: they open for whoever receives them."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from connector.dav.http import HttpClient, make_session
from connector.dav.webdav import WebDAVClient, file_id_header
from connector.links import Links
from connector.models import MilestoneKind, Obligation, Plan, RemoteFile, Task, Unit
from connector.register import compute_register, load_register, write_all
from ncfixtures import exchange, register

VN = timezone(timedelta(hours=7))
ROOT = "Báo cáo/21-KL-TW"
FOLDER = "Chi bộ A/03 – Xây dựng kế hoạch/Tháng 02-2022"
PLAN = Plan(title="Kế hoạch thực hiện Kết luận số 21-KL/TW", code="21-kl-tw",
            tasks=[Task(number=3, title="Xây dựng kế hoạch", text="…")])
UNITS = [Unit(id="cb-a", name="Chi bộ A", group="cb-a")]
OB = Obligation(unit="cb-a", task=3, milestone=1, period="2022-02", due=date(2022, 2, 28),
                kind=MilestoneKind.MONTHLY, folder=FOLDER)


class E:  # the two attributes Links.learn reads from a listing entry
    def __init__(self, path, file_id):
        self.path, self.file_id = path, file_id


def test_a_nextcloud_link_names_the_file_id_and_opens_for_every_member_who_sees_it():
    links = Links(nextcloud="https://cloud.example.vn/")
    assert links.url(f"{ROOT}/{FOLDER}") is None  # not known yet: no link rather than one that goes nowhere
    links.learn([E(f"{ROOT}/{FOLDER}", "4711"), E(f"{ROOT}/Chi bộ A", None)])
    assert links.url(f"/{ROOT}/{FOLDER}/") == "https://cloud.example.vn/index.php/f/4711"
    assert links.url(f"{ROOT}/Chi bộ A") is None


def test_names_match_whether_written_nfc_or_nfd():
    import unicodedata

    links = Links(nextcloud="https://cloud.example.vn")
    links.learn_ids({unicodedata.normalize("NFD", f"{ROOT}/{FOLDER}"): "12"})
    assert links.url(f"{ROOT}/{FOLDER}") == "https://cloud.example.vn/index.php/f/12"


def test_web_url_is_the_base_people_open_even_written_as_the_old_files_app_link():
    for web in ("https://drive.example.vn", "https://drive.example.vn/index.php/apps/files/?dir=",
                "https://drive.example.vn/apps/files/"):
        links = Links(nextcloud=web)
        links.learn_ids({ROOT: "5"})
        assert links.url(ROOT) == "https://drive.example.vn/index.php/f/5", web


def test_other_servers_keep_the_absolute_webdav_url():
    links = Links(web_base="http://127.0.0.1:5233/files/")
    assert links.url(f"{ROOT}/{FOLDER}") == ("http://127.0.0.1:5233/files/B%C3%A1o%20c%C3%A1o/21-KL-TW/"
                                             "Chi%20b%E1%BB%99%20A/03%20%E2%80%93%20X%C3%A2y%20d%E1%BB%B1ng"
                                             "%20k%E1%BA%BF%20ho%E1%BA%A1ch/Th%C3%A1ng%2002-2022")


def test_the_oc_fileid_header_gives_the_number_the_listing_calls_oc_fileid():
    assert file_id_header("00000073ocabs7kr18d9") == "73"
    assert file_id_header("123456789oc3vaoe4wx6k") == "123456789"
    assert file_id_header(None) is None and file_id_header("") is None


def test_mkcol_on_nextcloud_learns_the_new_folders_id_without_another_request(version, rsps):
    ex = exchange(version, "c2")
    register(rsps, ex)
    dav = WebDAVClient(HttpClient(make_session("admin", "app-password"), backoff=0),
                       ex.base + "/remote.php/dav/files/admin/")
    assert dav.mkcol("Báo cáo")
    assert dav.created_ids == {"Báo cáo": file_id_header(ex.header("OC-FileId"))}
    assert dav.created_ids["Báo cáo"].isdigit() and len(rsps.calls) == 1


def test_the_register_links_folders_and_files_by_id_and_keeps_no_link_to_a_deleted_file(tmp_path):
    links = Links(nextcloud="https://cloud.example.vn")
    links.learn_ids({f"{ROOT}/{FOLDER}": "40", f"{ROOT}/{FOLDER}/bao-cao.pdf": "41", f"{ROOT}/Chi bộ A/lac.pdf": "42"})
    files = [RemoteFile(path=f"{FOLDER}/bao-cao.pdf", name="bao-cao.pdf", size=10,
                        uploaded_at=datetime(2022, 2, 20, tzinfo=VN), href="/remote.php/dav/files/bot/x"),
             RemoteFile(path="Chi bộ A/lac.pdf", name="lac.pdf", size=10, uploaded_at=datetime(2022, 2, 20, tzinfo=VN))]

    def url(path: str) -> str | None:
        return links.url(f"{ROOT}/{path}")

    reg = compute_register([OB], files, UNITS, PLAN, date(2022, 3, 1), datetime(2022, 3, 1, tzinfo=VN), links=url)
    row = reg.rows[0]
    assert row.url == "https://cloud.example.vn/index.php/f/40"
    assert row.files[0].url == "https://cloud.example.vn/index.php/f/41"
    assert reg.unassigned[0].url == "https://cloud.example.vn/index.php/f/42"

    paths = write_all(reg, tmp_path)
    assert load_register(paths["json"]) == reg  # links survive register.json
    html = paths["html"].read_text(encoding="utf-8")
    assert 'href="https://cloud.example.vn/index.php/f/42"' in html  # the misplaced file opens, from disk too
    assert 'href="/remote.php' not in html
    csv_text = paths["csv"].read_text(encoding="utf-8-sig")
    assert "https://cloud.example.vn/index.php/f/40" in csv_text
    import openpyxl

    ws = openpyxl.load_workbook(paths["xlsx"])["Sổ theo dõi"]
    link = ws.cell(2, [c.value for c in ws[1]].index("Liên kết") + 1)
    assert link.hyperlink.target == "https://cloud.example.vn/index.php/f/40"

    gone = compute_register([OB], [], UNITS, PLAN, date(2022, 3, 2), datetime(2022, 3, 2, tzinfo=VN),
                            previous=reg, links=url)
    assert gone.rows[0].files[0].removed and gone.rows[0].files[0].url == ""


def test_a_relative_link_is_never_written_into_the_page(tmp_path):
    files = [RemoteFile(path="Chi bộ A/lac.pdf", name="lac.pdf", size=10, uploaded_at=datetime(2022, 2, 20, tzinfo=VN),
                        href="/remote.php/dav/files/bot/B%C3%A1o/lac.pdf")]
    reg = compute_register([OB], files, UNITS, PLAN, date(2022, 3, 1), datetime(2022, 3, 1, tzinfo=VN))
    html = write_all(reg, tmp_path)["html"].read_text(encoding="utf-8")
    assert "lac.pdf" in html and "/remote.php/" not in html


def test_a_link_beyond_excels_limits_stays_in_the_xlsx_as_text(tmp_path, monkeypatch):
    """Excel opens no link longer than 2,079 characters, nor more than 65,530 on a sheet: such a link is
    written as its text (still there to copy), never dropped."""
    import openpyxl

    import connector.register.export as export

    long_url = "https://cloud.example.vn/index.php/apps/files/?dir=/" + "B%C3%A1o%20c%C3%A1o/" * 120
    units = [Unit(id=f"cb-{c}", name=f"Chi bộ {c.upper()}", group=f"cb-{c}") for c in "abc"]
    obligations = [OB.model_copy(update={"unit": u.id, "folder": f"{u.name}/03 – Xây dựng kế hoạch/Tháng 02-2022"})
                   for u in units]
    urls = {obligations[0].folder: long_url}

    def url(folder):
        return urls.get(folder, f"https://cloud.example.vn/index.php/f/{len(folder)}")

    reg = compute_register(obligations, [], units, PLAN, date(2022, 3, 2), datetime(2022, 3, 2, tzinfo=VN), links=url)
    monkeypatch.setattr(export, "_MAX_LINKS", 1)  # as if this sheet already held 65,529 links
    ws = openpyxl.load_workbook(write_all(reg, tmp_path)["xlsx"])["Sổ theo dõi"]
    column = [c.value for c in ws[1]].index("Liên kết") + 1
    cells = {ws.cell(r, 2).value: ws.cell(r, column) for r in range(2, ws.max_row + 1)}
    assert cells["cb-a"].value == long_url and cells["cb-a"].hyperlink is None
    linked = [u for u in ("cb-b", "cb-c") if cells[u].hyperlink is not None]
    assert len(linked) == 1 and cells[linked[0]].hyperlink.target == cells[linked[0]].value
    assert all(cells[u].value.startswith("https://cloud.example.vn/index.php/f/") for u in ("cb-b", "cb-c"))
