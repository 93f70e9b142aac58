"""Hand-built plans and units for the schedule and render tests (no parser needed)."""
from __future__ import annotations

from datetime import date

from connector.models import Milestone, MilestoneKind, Plan, Task, Unit

SEED_TITLE = "Kế hoạch thực hiện Kết luận số 21-KL/TW, ngày 25/10/2021 của Ban Chấp hành Trung ương Đảng"


def seed_like_plan() -> Plan:
    """Six tasks of the seed plan, with the milestones the parser is expected to read."""
    once = MilestoneKind.ONCE
    return Plan(
        title=SEED_TITLE,
        code="21-kl-tw",
        issuer="Ban Thường vụ Đảng ủy Khối các cơ quan và doanh nghiệp tỉnh",
        year=2022,
        term=(2020, 2025),
        horizon=2025,
        tasks=[
            Task(
                number=1,
                title="Tổ chức Hội nghị cán bộ cốt cán quán triệt Kết luận",
                text=("Tổ chức Hội nghị cán bộ cốt cán theo hình thức trực tuyến toàn Đảng bộ Khối để quán triệt "
                      "Kết luận và triển khai Kế hoạch thực hiện (tháng 01/2022). Hướng dẫn, chỉ đạo nghiên cứu, "
                      "quán triệt Kết luận và Kế hoạch thực hiện ở các đảng bộ, chi bộ cơ sở (tháng 02/2022)."),
                milestones=[
                    Milestone(phrase="tháng 01/2022", kind=once, due=date(2022, 1, 31), line=13),
                    Milestone(phrase="tháng 02/2022", kind=once, due=date(2022, 2, 28), line=13),
                ],
                line=13,
            ),
            Task(
                number=2,
                title="Mở đợt sinh hoạt chính trị sâu rộng trong các đảng bộ, chi bộ",
                text=("Mở đợt sinh hoạt chính trị sâu rộng trong các đảng bộ, chi bộ về xây dựng, chỉnh đốn Đảng "
                      "và hệ thống chính trị; kiên quyết ngăn chặn, đẩy lùi, xử lý nghiêm cán bộ, đảng viên suy "
                      "thoái về tư tưởng chính trị, đạo đức, lối sống, biểu hiện “tự diễn biến”, “tự chuyển hóa”."),
                milestones=[Milestone(phrase="hoàn thành trong quý I/2022", kind=once, due=date(2022, 3, 31), line=15)],
                line=15,
            ),
            Task(
                number=6,
                title="Tăng cường công tác tuyên truyền về các nội dung của Kết luận",
                text=("Tiếp tục chỉ đạo các tổ chức cơ sở đảng tăng cường công tác tuyên truyền về các nội dung "
                      "của Kết luận; phát hiện, giới thiệu các điển hình, cách làm hay trong công tác xây dựng, "
                      "chỉnh đốn Đảng."),
                milestones=[Milestone(phrase="thực hiện thường xuyên", kind=MilestoneKind.ONGOING, line=23)],
                line=23,
            ),
            Task(
                number=7,
                title="Xây dựng Kế hoạch thực hiện Kết luận phù hợp với chức năng, nhiệm vụ",
                text=("Xây dựng Kế hoạch thực hiện Kết luận phù hợp với chức năng, nhiệm vụ và điều kiện thực tiễn "
                      "của các đảng bộ, chi bộ cơ sở (tháng 02/2022); kiểm tra, giám sát việc tổ chức quán triệt, "
                      "triển khai thực hiện kết luận (thực hiện hằng năm từ năm 2022)."),
                milestones=[
                    Milestone(phrase="tháng 02/2022", kind=once, due=date(2022, 2, 28), line=25),
                    Milestone(phrase="thực hiện hằng năm từ năm 2022", kind=MilestoneKind.YEARLY,
                              start=date(2022, 1, 1), due=date(2022, 12, 31),
                              rrule="FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31", line=25),
                ],
                line=25,
            ),
            Task(
                number=11,
                title="Tiếp tục thực hiện việc lấy phiếu tín nhiệm đối với thành viên lãnh đạo cấp ủy",
                text=("Tiếp tục thực hiện việc lấy phiếu tín nhiệm đối với thành viên lãnh đạo cấp ủy và cán bộ "
                      "lãnh đạo, quản lý theo phân cấp, nhất là việc lấy phiếu tín nhiệm cấp ủy các cấp."),
                milestones=[Milestone(phrase="năm thứ 2 và năm thứ 4 của nhiệm kỳ đại hội", kind=MilestoneKind.TERM,
                                      years=[2021, 2023], needs_review=True,
                                      flags=["năm của nhiệm kỳ tính theo nhiệm kỳ 2020-2025"], line=33)],
                line=33,
            ),
            Task(
                number=18,
                title="Tổ chức kiểm điểm tập thể lãnh đạo năm 2022",
                text=("Chỉ đạo các tổ chức đảng phối hợp với lãnh đạo chuyên môn tổ chức kiểm điểm tập thể lãnh đạo "
                      "năm 2022, gắn với rà soát, đánh giá việc khắc phục hạn chế khuyết điểm."),
                milestones=[Milestone(phrase="tháng 12/2022", kind=once, due=date(2022, 12, 31), line=47)],
                line=47,
            ),
        ],
        source="mappings/plans/ke-hoach-21-kl-tw.txt",
    )


_NAMED_UNITS = [
    Unit(id="cb-a", name="Chi bộ A", group="chi-bo-a", kind="chi bộ cơ sở"),
    Unit(id="du-vnpt", name="Đảng ủy Viễn thông tỉnh", group="dang-uy-vnpt", kind="đảng ủy cơ sở"),
    Unit(id="ban-to-chuc", name="Ban Tổ chức Đảng ủy Khối", group="ban-to-chuc", kind="ban"),
    Unit(id="doan-thanh-nien", name="Đoàn Thanh niên Khối", group="doan-thanh-nien", kind="đoàn thể"),
    Unit(id="cb-so-tu-phap", name="Chi bộ Sở Tư pháp", group="chi-bo-so-tu-phap", kind="chi bộ cơ sở"),
    Unit(id="du-dien-luc", name="Đảng ủy Công ty Điện lực", group="dang-uy-dien-luc", kind="đảng ủy cơ sở"),
    Unit(id="ubkt", name="Ủy ban Kiểm tra Đảng ủy Khối", group="ubkt", kind="ban"),
    Unit(id="cong-doan-khoi", name="Công đoàn Viên chức Khối", group="cong-doan-khoi", kind="đoàn thể"),
]


def sample_units(n: int = 8) -> list[Unit]:
    """n realistic units: the eight named ones, then numbered chi bộ / đảng ủy cơ sở."""
    units = list(_NAMED_UNITS[:n])
    for i in range(len(units) + 1, n + 1):
        if i % 3:
            units.append(Unit(id=f"cb-{i:03d}", name=f"Chi bộ Cơ quan số {i}", group=f"chi-bo-{i:03d}",
                              kind="chi bộ cơ sở"))
        else:
            units.append(Unit(id=f"du-{i:03d}", name=f"Đảng ủy Doanh nghiệp số {i}", group=f"dang-uy-{i:03d}",
                              kind="đảng ủy cơ sở"))
    return units


def large_plan(tasks: int = 19) -> Plan:
    """A seed-sized plan (19 tasks; once, yearly, half-yearly, ongoing milestones) for the speed checks."""
    plan = seed_like_plan()
    kinds = [
        Milestone(phrase="tháng 02/2022", kind=MilestoneKind.ONCE, due=date(2022, 2, 28)),
        Milestone(phrase="thực hiện hằng năm", kind=MilestoneKind.YEARLY, due=date(2022, 12, 31),
                  rrule="FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31"),
        Milestone(phrase="định kỳ 6 tháng", kind=MilestoneKind.HALF_YEARLY, due=date(2022, 6, 30)),
        Milestone(phrase="thực hiện thường xuyên", kind=MilestoneKind.ONGOING),
        Milestone(phrase="quý I/2022", kind=MilestoneKind.ONCE, due=date(2022, 3, 31)),
    ]
    plan.tasks = [
        Task(number=n, title=f"Nhiệm vụ số {n} về xây dựng, chỉnh đốn Đảng",
             text=f"Nội dung nhiệm vụ số {n}: tiếp tục thực hiện nghiêm túc Kết luận số 21-KL/TW.",
             milestones=[kinds[n % len(kinds)]])
        for n in range(1, tasks + 1)
    ]
    return plan
