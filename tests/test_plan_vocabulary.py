"""Every phrasing of the deadline vocabulary reads to the kind and dates issue 2 lists."""
from __future__ import annotations

from datetime import date

import pytest

from connector.errors import ConfigError
from connector.models import MilestoneKind as K
from connector.plan import parse_text
from connector.plan.deadlines import Context, read_milestones
from connector.plan.vocabulary import PACKAGED_PATH, load_vocabulary, read_entries

VOCAB = load_vocabulary(PACKAGED_PATH)
PLAN_2022 = Context(year=2022, term=(2020, 2025))
Y = "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31"
Q = "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1"
H = "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=-1"
M = "FREQ=MONTHLY;BYMONTHDAY=-1"

CASES = [
    # phrase, kind, due, start, rrule
    ("tháng 01/2022", K.ONCE, date(2022, 1, 31), None, None),
    ("tháng 2/2024", K.ONCE, date(2024, 2, 29), None, None),
    ("trong tháng 3 năm 2023", K.ONCE, date(2023, 3, 31), None, None),
    ("quý I/2022", K.ONCE, date(2022, 3, 31), None, None),
    ("quý 3/2023", K.ONCE, date(2023, 9, 30), None, None),
    ("hoàn thành trong quý IV/2022", K.ONCE, date(2022, 12, 31), None, None),
    ("trong quý 2 năm 2023", K.ONCE, date(2023, 6, 30), None, None),
    ("6 tháng đầu năm 2023", K.ONCE, date(2023, 6, 30), None, None),
    ("6 tháng cuối năm 2023", K.ONCE, date(2023, 12, 31), None, None),
    ("năm 2022", K.ONCE, date(2022, 12, 31), None, None),
    ("trong năm 2023", K.ONCE, date(2023, 12, 31), None, None),
    ("trước ngày 30/6/2023", K.ONCE, date(2023, 6, 30), None, None),
    ("chậm nhất ngày 15/3/2023", K.ONCE, date(2023, 3, 15), None, None),
    ("ngày 02/9/2022", K.ONCE, date(2022, 9, 2), None, None),
    ("từ tháng 3 đến tháng 6/2023", K.ONCE, date(2023, 6, 30), date(2023, 3, 1), None),
    ("hằng năm", K.YEARLY, date(2022, 12, 31), date(2022, 1, 1), Y),
    ("thực hiện hằng năm", K.YEARLY, date(2022, 12, 31), date(2022, 1, 1), Y),
    ("hàng năm", K.YEARLY, date(2022, 12, 31), date(2022, 1, 1), Y),
    ("hằng năm từ năm 2023", K.YEARLY, date(2023, 12, 31), date(2023, 1, 1), Y),
    ("năm 2022 và những năm tiếp theo", K.YEARLY, date(2022, 12, 31), date(2022, 1, 1), Y),
    ("trước ngày 15/12 hằng năm", K.YEARLY, date(2022, 12, 15), date(2022, 1, 1), "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=15"),
    ("hằng quý", K.QUARTERLY, date(2022, 3, 31), date(2022, 1, 1), Q),
    ("định kỳ hằng quý", K.QUARTERLY, date(2022, 3, 31), date(2022, 1, 1), Q),
    ("hằng tháng", K.MONTHLY, date(2022, 1, 31), date(2022, 1, 1), M),
    ("hàng tháng", K.MONTHLY, date(2022, 1, 31), date(2022, 1, 1), M),
    ("định kỳ 6 tháng", K.HALF_YEARLY, date(2022, 6, 30), date(2022, 1, 1), H),
    ("6 tháng một lần", K.HALF_YEARLY, date(2022, 6, 30), date(2022, 1, 1), H),
    ("thường xuyên", K.ONGOING, None, None, None),
    ("thực hiện thường xuyên", K.ONGOING, None, None, None),
    ("từ năm 2022", K.ONGOING, None, date(2022, 1, 1), None),
]


@pytest.mark.parametrize("phrase,kind,due,start,rrule", CASES, ids=[c[0] for c in CASES])
def test_phrase_reads_as_the_vocabulary_says(phrase, kind, due, start, rrule):
    [m] = read_milestones(phrase, VOCAB, PLAN_2022)
    assert (m.kind, m.due, m.start, m.rrule) == (kind, due, start, rrule)
    assert not m.needs_review


def test_matching_ignores_case_and_unicode_composition():
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Hoàn Thành Trong QUÝ II/2023")
    [m] = read_milestones(decomposed, VOCAB, PLAN_2022)
    assert (m.kind, m.due) == (K.ONCE, date(2023, 6, 30))


@pytest.mark.parametrize("phrase,years", [
    ("năm thứ 2 và năm thứ 4 của nhiệm kỳ đại hội", [2021, 2023]),
    ("năm thứ ba của nhiệm kỳ", [2022]),
    ("giữa nhiệm kỳ", [2023]),
    ("cuối nhiệm kỳ", [2025]),
])
def test_term_based_phrases_are_read_by_default_and_always_flagged(phrase, years):
    [m] = read_milestones(phrase, VOCAB, PLAN_2022)
    assert m.kind == K.TERM and m.years == years and m.due == date(years[0], 12, 31)
    assert m.needs_review and m.flags


def test_term_phrase_without_a_known_term_has_no_years():
    [m] = read_milestones("năm thứ 2 của nhiệm kỳ", VOCAB, Context(year=2022))
    assert m.years == [] and m.due is None and m.needs_review


def test_unknown_phrase_is_kept_verbatim_and_flagged():
    [m] = read_milestones("khi có hướng dẫn của cấp trên", VOCAB, PLAN_2022)
    assert (m.kind, m.phrase, m.due, m.needs_review) == (K.UNKNOWN, "khi có hướng dẫn của cấp trên", None, True)


def test_a_phrase_of_two_known_parts_gives_two_milestones():
    ms = read_milestones("tháng 9/2023 và hằng năm", VOCAB, PLAN_2022)
    assert [(m.kind, m.due) for m in ms] == [(K.ONCE, date(2023, 9, 30)), (K.YEARLY, date(2022, 12, 31))]


def test_an_impossible_date_is_unknown_not_a_crash():
    [m] = read_milestones("trước ngày 31/2/2023", VOCAB, PLAN_2022)
    assert m.kind == K.UNKNOWN and m.needs_review


def test_a_once_phrase_without_year_takes_the_plans_year_but_is_flagged():
    [m] = read_milestones("6 tháng đầu năm", VOCAB, PLAN_2022)
    assert m.due == date(2022, 6, 30) and m.needs_review


def test_recurring_without_a_year_starts_with_the_period_the_plan_was_issued_in():
    [m] = read_milestones("hằng quý", VOCAB, Context(year=2023, issued=date(2023, 5, 10)))
    assert (m.start, m.due) == (date(2023, 4, 1), date(2023, 6, 30))


def test_admin_adds_a_phrasing_without_code(tmp_path):
    extra = tmp_path / "vocabulary.toml"
    extra.write_text("""
[[pattern]]
name = "before_party_day"
regex = 'trước ngày thành lập đảng năm (?P<year>\\d{4})'
kind = "once"
due = "date"
day = 3
month = 2
""", encoding="utf-8")
    text = "KẾ HOẠCH\nthử\n\nII. NHIỆM VỤ\n\n1. Tổ chức hội thảo (*trước ngày thành lập Đảng năm 2024*).\n"
    assert parse_text(text, vocabulary=VOCAB).tasks[0].milestones[0].kind == K.UNKNOWN
    m = parse_text(text, vocabulary=load_vocabulary(extra)).tasks[0].milestones[0]
    assert (m.kind, m.due) == (K.ONCE, date(2024, 2, 3))


def test_admin_overrides_a_packaged_entry_by_name(tmp_path):
    extra = tmp_path / "vocabulary.toml"
    extra.write_text("""
[[pattern]]
name = "yearly"
regex = '(?:thực hiện\\s+)?hằng năm'
kind = "yearly"
due = "date"
day = 15
month = 12
""", encoding="utf-8")
    vocab = load_vocabulary(extra)
    assert [e.name for e in vocab.entries].count("yearly") == 1
    [m] = read_milestones("thực hiện hằng năm", vocab, PLAN_2022)
    assert m.due == date(2022, 12, 15)


def test_the_shipped_admin_vocabulary_is_valid_and_extends_the_default():
    from pathlib import Path

    admin = Path(__file__).resolve().parent.parent / "mappings" / "vocabulary.toml"
    vocab = load_vocabulary(admin)
    assert len(vocab.entries) > len(read_entries(PACKAGED_PATH))
    [m] = read_milestones("trước kỷ niệm ngày thành lập Đảng 3/2/2023", vocab, PLAN_2022)
    assert m.due == date(2023, 2, 3)


@pytest.mark.parametrize("body,message", [
    ('[[pattern]]\nname = "x"\nregex = "("\nkind = "once"\ndue = "date"\n', "bad regex"),
    ('[[pattern]]\nname = "x"\nregex = "a"\nkind = "sometimes"\ndue = "date"\n', "kind must be"),
    ('[[pattern]]\nname = "x"\nregex = "a"\nkind = "once"\ndue = "period_end"\n', "does not fit"),
    ('[[pattern]]\nname = "x"\nregex = "a"\nkind = "once"\ndue = "date"\ncolour = 1\n', "unknown key"),
    ('[[pattern]\n', "not a valid TOML"),
])
def test_a_broken_vocabulary_is_a_config_error_naming_the_file(tmp_path, body, message):
    bad = tmp_path / "vocab.toml"
    bad.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_vocabulary(bad)
    assert message in str(err.value) and str(bad) in str(err.value) and err.value.exit_code == 2
