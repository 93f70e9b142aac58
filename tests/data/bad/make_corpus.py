"""Writes the bad-input corpus beside this script: plans/, units/ and server/ (run it again to regenerate).

What each file should give (exit code and the one line of error, or what is read) is in expected.toml;
tests/test_bad_input.py runs every case. The 50 MB plan is made by the test itself, never committed.
"""
from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent

PLAN = ("KẾ HOẠCH\nthực hiện công tác kiểm tra năm 2023\n\nII. NHIỆM VỤ\n\n"
        "1. Tổ chức hội nghị quán triệt nghị quyết (tháng 3/2023).\n"
        "2. Rà soát, bổ sung quy chế làm việc của cấp ủy (quý II/2023).\n")


def units(*tables: str) -> str:
    return "\n".join(f"[[units]]\n{t.strip()}\n" for t in tables)


A = 'id = "cb-a"\nname = "Chi bộ A"\ngroup = "chi-bo-a"'
B = 'id = "cb-b"\nname = "Chi bộ B"\ngroup = "chi-bo-b"'
NFD_A = unicodedata.normalize("NFD", "Chi bộ A")

FILES: dict[str, bytes | str] = {
    # --- plans ---------------------------------------------------------------------------------
    "plans/empty.txt": b"",
    "plans/binary.txt": bytes(range(256)) * 4,
    "plans/invalid-utf8.txt": PLAN.encode().replace("kiểm tra".encode(), b"ki\xe9m tra"),  # Latin-1 é on line 2
    "plans/utf16-bom.txt": codecs.BOM_UTF16_LE + PLAN.encode("utf-16-le"),
    "plans/utf16-no-bom.txt": PLAN.encode("utf-16-le"),
    "plans/crlf.txt": PLAN.replace("\n", "\r\n").encode(),
    "plans/nfd.txt": unicodedata.normalize("NFD", PLAN).encode(),
    "plans/no-tasks.txt": "KẾ HOẠCH\nthực hiện công tác năm 2023\n\nKính gửi các đồng chí. Trân trọng.\n",
    "plans/duplicate-numbers.txt": PLAN + "2. Báo cáo sơ kết 6 tháng (tháng 7/2023).\n",
    # --- units files ---------------------------------------------------------------------------
    "units/duplicate-ids.toml": units(A, A.replace("Chi bộ A", "Chi bộ A2")),
    "units/nfd-duplicate-ids.toml": units('id = "chi-bộ-a"\nname = "A"\ngroup = "a"',
                                          f'id = "{unicodedata.normalize("NFD", "chi-bộ-a")}"\nname = "B"\ngroup = "b"'),
    "units/unknown-key.toml": units(A + '\nnmae = "Chi bộ A"'),
    "units/missing-group.toml": units('id = "cb-a"\nname = "Chi bộ A"'),
    "units/nul-in-name.toml": units('id = "cb-a"\nname = "Chi bộ\\u0000A"\ngroup = "chi-bo-a"'),
    "units/spaces-around-id.toml": units('id = " cb-a "\nname = "Chi bộ A"\ngroup = "chi-bo-a"'),
    "units/nfc-nfd-twins.toml": units(A, f'id = "cb-a2"\nname = "{NFD_A}"\ngroup = "chi-bo-a2"'),
    "units/case-twins.toml": units(A, 'id = "cb-a2"\nname = "CHI BỘ A"\ngroup = "chi-bo-a2"'),
    "units/slashes-and-dots.toml": units('id = "cb-ab"\nname = "Chi bộ Phòng A/B\\\\C"\ngroup = "chi-bo-ab"',
                                         'id = "dot-dot"\nname = ".."\ngroup = "dot-dot"',
                                         'id = "up"\nname = "../../etc"\ngroup = "up"'),
    "units/long-name.toml": units(f'id = "dai"\nname = "{"Đảng bộ Tổng công ty Điện lực miền Nam " * 8}"\ngroup = "dai"'),
    "units/emoji.toml": units('id = "vui"\nname = "Chi bộ 🎉 Văn phòng"\ngroup = "vui"'),
    "units/spaces-around-name.toml": units('id = "cb-a"\nname = "   Chi bộ A   "\ngroup = "chi-bo-a"', B),
    # --- server answers ------------------------------------------------------------------------
    "server/malformed.xml": '<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:"><d:response><d:href>/files/',
    "server/entity-bomb.xml": ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
                               + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                                         for i in range(1, 10))
                               + ']>\n<d:multistatus xmlns:d="DAV:"><d:response><d:href>&lol9;</d:href>'
                                 '</d:response></d:multistatus>\n'),
    "server/external-entity.xml": ('<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
                                   '<d:multistatus xmlns:d="DAV:"><d:response><d:href>&xxe;</d:href>'
                                   '</d:response></d:multistatus>\n'),
    "server/login.html": ('<!DOCTYPE html>\n<html><head><title>Đăng nhập – Nextcloud</title></head>\n'
                          '<body><form method="post" action="/login"><input name="user"><input name="password" '
                          'type="password"></form></body></html>\n'),
    "server/not-multistatus.xml": '<?xml version="1.0"?>\n<error xmlns="DAV:"><message>Bảo trì</message></error>\n',
}


def main() -> None:
    for rel, content in FILES.items():
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    print(f"wrote {len(FILES)} files under {HERE}")


if __name__ == "__main__":
    main()
