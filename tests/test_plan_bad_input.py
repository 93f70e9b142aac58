"""Bad plan input: one clear error line naming the file (and line), exit code 2, no traceback."""
from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from connector.cli import main
from connector.errors import PlanError
from connector.plan import parse_plan

SIMPLE = "KẾ HOẠCH\nthử nghiệm\n\nII. NHIỆM VỤ\n\n1. Tổ chức hội nghị quán triệt (*tháng 3/2023*).\n"


def run_import(path: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["import", str(path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code: int, out: str, err: str, path: Path, needle: str) -> None:
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"plan-connector: error: {path}")
    assert needle in lines[0]
    assert "Traceback" not in err


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert_one_error_line(*run_import(path, capsys), path, "empty file")


def test_whitespace_only_file_counts_as_empty(tmp_path):
    path = tmp_path / "blank.md"
    path.write_text("\n   \n\t\n", encoding="utf-8")
    with pytest.raises(PlanError, match="empty"):
        parse_plan(path)


def test_a_text_that_is_not_a_plan(tmp_path, capsys):
    path = tmp_path / "letter.txt"
    path.write_text("Kính gửi các đồng chí,\nXin mời dự họp vào thứ Hai.\nTrân trọng.\n", encoding="utf-8")
    assert_one_error_line(*run_import(path, capsys), path, "no numbered tasks found; is this a plan (Kế hoạch)?")


def test_a_corrupt_docx(tmp_path, capsys):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    assert_one_error_line(*run_import(path, capsys), path, ".docx")


def test_a_docx_that_is_a_zip_without_a_document(tmp_path, capsys):
    import zipfile

    path = tmp_path / "other.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    assert_one_error_line(*run_import(path, capsys), path, ".docx")


def test_a_binary_file_names_the_line(tmp_path, capsys):
    path = tmp_path / "image.txt"
    path.write_bytes(b"KE HOACH\nline two\n\x89PNG\x00\x00\x00\rIHDR")
    code, out, err = run_import(path, capsys)
    assert_one_error_line(code, out, err, path, "binary")
    assert f"{path}:3:" in err


def test_an_unknown_encoding_names_the_line(tmp_path, capsys):
    path = tmp_path / "legacy.txt"
    path.write_bytes(SIMPLE.encode("utf-8").replace("thử nghiệm".encode("utf-8"), "thu nghi\xe9m".encode("latin-1")))
    code, out, err = run_import(path, capsys)
    assert_one_error_line(code, out, err, path, "UTF-8")
    assert f"{path}:2:" in err


def test_missing_file_and_unsupported_type(tmp_path, capsys):
    missing = tmp_path / "nope.txt"
    assert_one_error_line(*run_import(missing, capsys), missing, "not found")
    odt = tmp_path / "plan.odt"
    odt.write_bytes(b"PK\x03\x04")
    assert_one_error_line(*run_import(odt, capsys), odt, "unsupported file type")
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(b"%PDF-1.4")  # cut off after its header: no pypdf warning, one line
    assert_one_error_line(*run_import(pdf, capsys), pdf, "not a readable PDF file")


@pytest.mark.parametrize("encoding,bom", [("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
                                          ("utf-16-be", codecs.BOM_UTF16_BE)])
def test_utf8_and_utf16_with_bom_are_read(tmp_path, encoding, bom):
    path = tmp_path / "plan.txt"
    path.write_bytes(bom + SIMPLE.encode(encoding))
    plan = parse_plan(path)
    assert plan.title == "Kế hoạch thử nghiệm"
    assert plan.tasks[0].milestones[0].phrase == "tháng 3/2023"


def test_strict_turns_flags_into_a_non_zero_exit(tmp_path, capsys):
    path = tmp_path / "plan.txt"
    path.write_text(SIMPLE.replace("tháng 3/2023", "khi có hướng dẫn"), encoding="utf-8")
    code, out, err = run_import(path, capsys)
    assert code == 0 and "REVIEW" in out
    code, out, err = run_import(path, capsys, "--strict")
    assert code == 1 and "need review" in err
    path.write_text(SIMPLE, encoding="utf-8")
    assert run_import(path, capsys, "--strict")[0] == 0
