"""Plans that write deadlines inline, at the end of a sentence, without brackets or italics."""
from datetime import date
from pathlib import Path

from connector.models import MilestoneKind
from connector.plan import parse_plan, parse_text

DATA = Path(__file__).parent / "data"


def test_inline_deadlines_at_the_end_of_a_clause_are_read():
    plan = parse_plan(DATA / "ke-hoach-45-inline.txt")
    by = {t.number: t for t in plan.tasks}
    assert [(m.kind, m.due) for m in by[2].milestones] == [(MilestoneKind.ONCE, date(2023, 6, 30))]
    assert by[2].milestones[0].phrase == "hoàn thành trước ngày 30/6/2023"
    assert by[3].milestones[0].kind is MilestoneKind.QUARTERLY
    assert (by[5].milestones[0].kind, by[5].milestones[0].due) == (MilestoneKind.YEARLY, date(2023, 12, 15))
    assert [m.due for m in by[6].milestones] == [date(2023, 5, 31), date(2023, 10, 10)]
    assert by[8].milestones[0].kind is MilestoneKind.HALF_YEARLY
    assert by[7].milestones == []  # "Theo dõi, đôn đốc việc thực hiện." has no deadline
    assert plan.issued == date(2023, 3, 10) and plan.signer == "Trần Văn B"
    assert plan.annual_report_due == (11, 20)  # "báo cáo kết quả trước ngày 20/11 hằng năm" in section III


def test_a_year_in_the_middle_of_a_sentence_is_not_a_deadline():
    text = ("KẾ HOẠCH\nthực hiện chuyên đề\n\nII. NHIỆM VỤ\n"
            "1. Xây dựng kế hoạch năm 2023 của chi bộ và tổ chức thực hiện nghiêm túc.\n"
            "2. Sơ kết chuyên đề, trong tháng 6 năm 2023.\n")
    plan = parse_text(text)
    assert plan.tasks[0].milestones == []
    assert plan.tasks[1].milestones[0].due == date(2023, 6, 30)


def test_spans_of_years_are_ongoing_work_judged_by_the_yearly_report():
    from connector.plan.deadlines import Context, read_milestones
    from connector.plan.vocabulary import load_vocabulary

    vocabulary = load_vocabulary()
    for phrase, start in (("giai đoạn 2021-2025", date(2021, 1, 1)), ("năm 2024 - 2025", date(2024, 1, 1)),
                          ("từ năm 2024 đến năm 2025", date(2024, 1, 1)), ("từ nay đến hết năm 2025", None)):
        [m] = read_milestones(phrase, vocabulary, Context(year=2024))
        assert (m.kind, m.due, m.start) == (MilestoneKind.ONGOING, None, start), phrase


def test_markdown_plan_with_bold_task_headings_and_body_paragraphs():
    plan = parse_plan(DATA / "ke-hoach-hoc-tap-md.md")
    assert plan.title == "Kế hoạch học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh năm 2025"
    assert [t.title for t in plan.tasks] == ["Tổ chức học tập chuyên đề năm 2025", "Đăng ký làm theo", "Sơ kết, tổng kết"]
    assert plan.tasks[0].lead == ["Ban Tuyên giáo"] and plan.tasks[0].milestones[0].due == date(2025, 3, 31)
    assert [m.due for m in plan.tasks[2].milestones] == [date(2025, 6, 30), date(2025, 12, 31)]
    assert plan.annual_report_due == (12, 10)


def test_sub_items_1_1_and_1_2_are_tasks_under_their_group_heading():
    plan = parse_plan(DATA / "ke-hoach-78-nested.txt")
    assert [(t.number, t.label) for t in plan.tasks] == [(1, "II.1.1"), (2, "II.1.2"), (3, "II.2.1"), (4, "II.2.2")]
    assert plan.tasks[0].group == "Công tác tuyên truyền"
    assert [m.due for t in plan.tasks[:2] for m in t.milestones] == [date(2024, 3, 31), date(2024, 4, 30)]
    assert [m.kind for m in plan.tasks[3].milestones] == [MilestoneKind.YEARLY]
    assert plan.issued == date(2024, 1, 5) and plan.code == "78-kh-đuk".replace("đ", "d")


def test_a_docx_plan_whose_tasks_are_a_table(tmp_path):
    import docx

    document = docx.Document()
    for text in ("ĐẢNG ỦY KHỐI CÁC CƠ QUAN TỈNH", "Số 90-KH/ĐUK", "Bình An, ngày 20 tháng 01 năm 2025",
                 "KẾ HOẠCH", "kiểm tra, giám sát năm 2025", "I. MỤC ĐÍCH, YÊU CẦU", "Bảo đảm đúng quy định.",
                 "II. NHIỆM VỤ CỤ THỂ"):
        document.add_paragraph(text)
    table = document.add_table(rows=1, cols=5)
    for cell, head in zip(table.rows[0].cells, ["TT", "Nội dung công việc", "Cơ quan chủ trì", "Cơ quan phối hợp",
                                                "Thời gian hoàn thành"]):
        cell.text = head
    group = table.add_row()
    group.cells[0].merge(group.cells[4]).text = "I. CÔNG TÁC KIỂM TRA"
    for values in (("1", "Kiểm tra việc chấp hành nguyên tắc tập trung dân chủ", "Ủy ban Kiểm tra", "Ban Tổ chức",
                    "Quý II/2025"),
                   ("2", "Giám sát chuyên đề việc kê khai tài sản", "Ủy ban Kiểm tra", "", "Trước ngày 30/9/2025"),
                   ("3", "Báo cáo kết quả kiểm tra, giám sát", "Văn phòng", "Các ban", "Định kỳ 6 tháng")):
        for cell, value in zip(table.add_row().cells, values):
            cell.text = value
    document.add_paragraph("III. TỔ CHỨC THỰC HIỆN")
    document.add_paragraph("Các chi bộ báo cáo trước ngày 15/12 hằng năm.")
    path = tmp_path / "ke-hoach-90.docx"
    document.save(path)

    plan = parse_plan(path)
    assert plan.title == "Kế hoạch kiểm tra, giám sát năm 2025"
    assert [(t.number, t.lead, t.cooperating) for t in plan.tasks] == [
        (1, ["Ủy ban Kiểm tra"], ["Ban Tổ chức"]), (2, ["Ủy ban Kiểm tra"], []), (3, ["Văn phòng"], ["Các ban"])]
    assert [(m.kind, m.due) for t in plan.tasks for m in t.milestones] == [
        (MilestoneKind.ONCE, date(2025, 6, 30)), (MilestoneKind.ONCE, date(2025, 9, 30)),
        (MilestoneKind.HALF_YEARLY, date(2025, 6, 30))]
    assert all("CÔNG TÁC KIỂM TRA" not in t.text for t in plan.tasks)


def test_a_monthly_report_due_on_a_given_day_falls_due_that_day_every_month():
    from connector.models import Unit
    from connector.schedule import expand

    text = ("Hà Nội, ngày 02 tháng 01 năm 2024\nKẾ HOẠCH\nthực hiện chế độ báo cáo năm 2024\n\nII. NHIỆM VỤ\n"
            "1. Các chi bộ gửi báo cáo nhanh tình hình tư tưởng (*trước ngày 10 hằng tháng*).\n"
            "2. Cập nhật số liệu đảng viên (hằng tháng, trước ngày 25).\n")
    plan = parse_text(text)
    first, second = plan.tasks[0].milestones[0], plan.tasks[1].milestones[0]
    assert (first.kind, first.rrule, first.due) == (MilestoneKind.MONTHLY, "FREQ=MONTHLY;BYMONTHDAY=10", date(2024, 1, 10))
    assert second.due == date(2024, 1, 25)
    dues = [ob.due for ob in expand(plan, [Unit(id="cb-a", name="Chi bộ A", group="g")])
            if ob.task == 1 and ob.period.startswith("2024")]
    assert dues[:3] == [date(2024, 1, 10), date(2024, 2, 10), date(2024, 3, 10)] and len(dues) == 12


def test_sections_numbered_1_2_3_with_tasks_2_1_2_2():
    plan = parse_plan(DATA / "ke-hoach-ky-niem-arabic.txt")
    assert plan.title == "Kế hoạch tổ chức các hoạt động kỷ niệm năm 2025"
    assert [(t.number, t.title) for t in plan.tasks] == [
        (1, "Tổ chức mít tinh kỷ niệm"), (2, "Tuyên truyền trên trang thông tin điện tử"),
        (3, "Thi tìm hiểu lịch sử Đảng bộ"),
        (4, "Văn phòng chủ trì, báo cáo kết quả trước ngày 30/11/2025")]  # a dated duty of section 3 is a task too
    assert [m.kind for t in plan.tasks for m in t.milestones] == [MilestoneKind.ONCE, MilestoneKind.ONGOING,
                                                                  MilestoneKind.ONCE, MilestoneKind.ONCE]
    assert plan.purpose and plan.organization  # sections 1 and 3 are read as such, not as tasks


def test_sections_headed_phan_i_phan_ii():
    plan = parse_plan(DATA / "ke-hoach-phan.txt")
    assert plan.title == "Kế hoạch thực hiện Chương trình hành động năm 2025"
    assert [t.number for t in plan.tasks] == [1, 2] and plan.organization == ["Ban Tổ chức theo dõi."]


def test_deadlines_written_first_or_labelled_inside_the_text():
    plan = parse_plan(DATA / "ke-hoach-thoi-gian-dau-dong.txt")
    rows = [(t.title, m.phrase, m.due) for t in plan.tasks for m in t.milestones]
    assert rows == [
        ("Tổ chức hội nghị sơ kết", "tháng 6/2024", date(2024, 6, 30)),
        ("Kiểm tra việc thực hiện tại các chi bộ", "Quý III/2024", date(2024, 9, 30)),
        ("Tổ chức tập huấn nghiệp vụ cho cấp ủy viên mới", "tháng 8/2024", date(2024, 8, 31)),
        ("Tổng kết công tác năm 2024", "hoàn thành trước ngày 20/12/2024", date(2024, 12, 20)),
    ]
