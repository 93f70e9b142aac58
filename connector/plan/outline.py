"""The items of a plan section as a tree, and the tasks a careful reader takes from it (pure).

Every numbering style is a marker kind: "1." / "1-" / "1)" (arabic), "1.1." (dotted, by depth), "a)" / "a-"
(letter), "Nhiệm vụ 1:" / "Hoạt động 1" (named), "(1)" (paren), "-" (dash), "+" (plus). Levels follow the order
in which kinds first appear, as a reader sees them: a kind already open closes what was opened under it.
Label lines ("- Cơ quan chủ trì: …", "+ Thời hạn ban hành: …") are fields of the item above them, never items.

Tasks are the leaves. An item is a group, not a task, when it has numbered items under it (unless it ends with
":" and lists what it means), when it is a heading (no closing punctuation, a unit's name, "Giai đoạn …") over
bullets, or when the bullets under it carry their own lead or deadline. Items headed "Mục tiêu"/"Chỉ tiêu" are
targets: neither they nor anything under them is a task. A unit's name as a heading is the lead of what it holds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from connector.plan import structure as st
from connector.plan.units import is_unit_name

_MARKERS: list[tuple[str, re.Pattern]] = [
    ("named", re.compile(r"^(?:nhiệm vụ|nội dung|công việc|hoạt động)\s+(?:thứ\s+)?(?P<n>\d{1,2})\b\s*[:.)–-]?\s*",
                         re.IGNORECASE)),
    ("dotted", re.compile(r"^(?P<n>\d{1,2}(?:\.\d{1,2}){1,3})\.?(?=\s)\s*")),
    ("arabic", re.compile(r"^(?P<n>\d{1,2})\s*(?:[.)]|-(?=\s))\s*(?!\d)")),
    ("letter", re.compile(r"^(?P<n>[a-zđ])\s*[)]\s*|^(?P<n2>[a-zđ])\s*[.\-](?=\s)\s*")),
    ("paren", re.compile(r"^\((?P<n>\d{1,2}|[a-zđ])\)\s*")),
    ("dash", re.compile(r"^[-–—•●▪◦]\s*")),
    ("plus", re.compile(r"^\+\s*")),
]
_FIELD = re.compile(
    r"^(?P<label>(?:(?:cơ\s+quan|đơn\s+vị|bộ\s+phận)\s+)?(?:chủ\s+trì|phối\s+hợp|thực\s+hiện)(?:\s+(?:tham\s+mưu\s+)?"
    r"(?:thực\s+hiện|tham\s+mưu))?|(?:cơ\s+quan|đơn\s+vị)\s+(?:chủ\s+trì\s+)?tham\s+mưu(?:\s+thực\s+hiện)?"
    r"|trách\s+nhiệm\s+thực\s+hiện|thời\s+gian(?:\s+(?:thực\s+hiện|hoàn\s+thành|báo\s+cáo|triển\s+khai))?"
    r"|thời\s+hạn(?:\s+(?:hoàn\s+thành|thực\s+hiện|ban\s+hành|báo\s+cáo|trình))?|tiến\s+độ(?:\s+(?:thực\s+hiện|hoàn\s+thành))?"
    r"|hạn\s+hoàn\s+thành|nội\s+dung(?:\s+(?:thực\s+hiện|công\s+việc))?|sản\s+phẩm(?:\s+(?:dự\s+kiến|đầu\s+ra))?"
    r"|kết\s+quả(?:\s+(?:dự\s+kiến|đầu\s+ra|cần\s+đạt))?|kinh\s+phí)\s*:\s*(?P<value>.*)$",
    re.IGNORECASE)
_TARGET = re.compile(r"^(?:mục\s+tiêu|chỉ\s+tiêu|mục\s+đích|yêu\s+cầu)\b", re.IGNORECASE)
_HEADING_WORDS = re.compile(r"^(?:giai\s+đoạn|hoạt\s+động\s+\d|nhóm\s+(?:giải\s+pháp|nhiệm\s+vụ)|về\s|lĩnh\s+vực)",
                            re.IGNORECASE)
_NUMBERED = {"arabic", "dotted", "letter", "named"}


def marker(plain: str) -> tuple[str, str, str] | None:
    """(kind, label, rest) of an item's opening marker, else None. Dotted kinds carry their depth."""
    for kind, regex in _MARKERS:
        m = regex.match(plain)
        if m:
            label = (m.groupdict().get("n") or m.groupdict().get("n2") or "").strip()
            if kind == "dotted":
                kind = f"dotted{label.count('.')}"
            return kind, label, plain[m.end():]
    return None


def field_of(plain: str) -> tuple[str, str] | None:
    """(label, value) of a label line such as "- Thời gian thực hiện: quý I/2026", else None."""
    m = _FIELD.match(re.sub(r"^(?:[-–—+•]\s*)?", "", plain))
    if not m:
        return None
    return re.sub(r"\s+", " ", m.group("label").lower()), m.group("value").strip()


@dataclass
class Node:
    """An item: its opening paragraph, the paragraphs under it that are not items, its fields and sub-items."""

    kind: str
    label: str
    head: st.Paragraph | None
    body: list[st.Paragraph] = field(default_factory=list)  # content paragraphs (and fields, in order)
    fields: list[tuple[str, st.Paragraph]] = field(default_factory=list)
    children: list["Node"] = field(default_factory=list)

    @property
    def own(self) -> str:
        """The item's own text without its marker."""
        if self.head is None:
            return ""
        found = marker(self.head.plain)
        return (found[2] if found else self.head.plain).strip()

    def has_fields(self, *names: str) -> bool:
        return any(any(n in label for n in names) for label, _ in self.fields)


def build_tree(paragraphs: list[st.Paragraph]) -> Node:
    """The section's items nested by their markers; fields attach to the item they describe."""
    root = Node("root", "", None)
    stack: list[Node] = [root]
    open_field: str | None = None  # the label of a field written on the "+" lines below it
    open_owner: Node = root
    for p in paragraphs:
        if p.rows is not None:
            continue
        plain = p.plain
        found = marker(plain)
        labelled = field_of(plain)
        if open_field is not None and found and found[0] == "plus" and not labelled:
            label = open_field
            if any(w in label for w in ("chủ trì", "phối hợp", "thực hiện", "tham mưu", "trách nhiệm")) \
                    and not label.startswith(("thời", "tiến", "hạn")):
                # "- Cơ quan thực hiện:" then "+ Sở X chủ trì, …": each line is a value of the field
                value = st.Paragraph(f"{label}: {found[2]}", list(p.lines))
                open_owner.fields.append((label, value))
                open_owner.body.append(value)
            else:
                open_owner.body.append(p)
            continue
        open_field = None
        if labelled:
            kind = found[0] if found else None
            popped = None
            while kind and len(stack) > 1 and stack[-1].kind == kind:
                popped = stack.pop()
            owner = stack[-1] if (len(stack) > 1 or popped is None) else popped
            if popped is not None and owner is popped:
                stack.append(popped)
            copy = st.Paragraph(p.text, list(p.lines))
            owner.fields.append((labelled[0], copy))
            if labelled[1]:
                owner.body.append(copy)
            else:
                open_field, open_owner = labelled[0], owner
            continue
        if not found:
            stack[-1].body.append(p)
            continue
        kind, label, _ = found
        kinds = [n.kind for n in stack]
        if kind in kinds:
            del stack[kinds.index(kind):]
        node = Node(kind, label, p)
        stack[-1].children.append(node)
        stack.append(node)
    return root


@dataclass
class Candidate:
    """A task as found in the outline: its paragraphs (opening one first), path and inherited lead."""

    paragraphs: list[st.Paragraph]
    label: str
    group: list[str]
    lead: list[str]
    line: int
    title_text: str = ""


def _ends_open(text: str) -> bool:
    text = text.rstrip(" *")
    return not text or text[-1] not in ".;!?…)”\"»"


def _heading_like(node: Node) -> bool:
    own = node.own.strip()
    if not own:
        return True
    if node.has_fields("thời gian", "thời hạn", "tiến độ", "chủ trì", "thực hiện"):
        return False
    if is_unit_name(own.rstrip(":")) and len(own) < 200:
        return True
    if _HEADING_WORDS.match(own):
        return True
    return _ends_open(own) and not own.endswith(":") and len(own) <= 200


def _unit_heading(node: Node) -> list[str]:
    own = re.sub(r"\s*\([^()]*\)\s*:?$", "", node.own.strip()).rstrip(" :")
    own = re.sub(r"^(?:đề\s+nghị|giao)\s+", "", own, flags=re.IGNORECASE)
    if not own or not is_unit_name(own) or len(own) > 200 or not _ends_open(own):
        return []
    from connector.plan.units import split_units

    return split_units(own)


def _paragraphs(node: Node) -> list[st.Paragraph]:
    """The node's paragraphs in reading order: its head, body (content and fields) and all that lies under it."""
    out = [node.head] if node.head is not None else []
    out += node.body
    for child in node.children:
        out += _paragraphs(child)
    return out


def _is_target(node: Node) -> bool:
    return bool(_TARGET.match(node.own))


def candidates(root: Node, prefix: str = "") -> list[Candidate]:
    """The tasks in an outline, in reading order."""
    out: list[Candidate] = []

    def visit(node: Node, path: list[str], group: list[str], lead: list[str]) -> None:
        if node is not root and _is_target(node):
            return
        if path and node.label.startswith(path[-1] + "."):  # "1.1" under "1" is "1.1", not "1.1.1"
            path = path[:-1]
        label = ".".join(x for x in [*path, node.label] if x)
        unit = _unit_heading(node) if node is not root else []
        numbered_children = [c for c in node.children if c.kind in _NUMBERED or c.kind.startswith("dotted")]
        bullets = [c for c in node.children if c not in numbered_children]
        own = node.own
        is_group = False
        if node is root:
            is_group = True
        elif numbered_children and not (own.rstrip().endswith(":") and not unit):
            is_group = True
        elif bullets and (_heading_like(node) or unit
                          or any(c.has_fields("chủ trì", "thực hiện", "thời gian", "thời hạn") for c in bullets)):
            is_group = True
        if not is_group:
            paragraphs = _paragraphs(node)
            if not paragraphs:
                return
            title = own
            if unit and node.body:  # "2.5. Sở Y tế" then its duty: the duty is the title, the unit the lead
                title = next((b.plain for b in node.body if not field_of(b.plain)), own)
            out.append(Candidate(paragraphs, label, group, unit or lead, paragraphs[0].line, title))
            return
        heading = own.rstrip(" :") if node is not root else ""
        sub_group = [*group, heading] if heading else group
        sub_path = [*path, node.label] if node is not root and node.label else path
        if node is not root and node.body and not numbered_children:
            pass  # a heading's own prose (e.g. "Căn cứ …") is context, not a task
        for child in node.children:
            visit(child, sub_path, sub_group, unit or lead)

    visit(root, [prefix] if prefix else [], [], [])
    return out


def prose_candidates(root: Node, prefix: str = "") -> list[Candidate]:
    """Each paragraph a section writes without a number (a reporting duty in "Chế độ báo cáo")."""
    return [Candidate([p], prefix, [], [], p.line, p.plain) for p in root.body if p.rows is None and not field_of(p.plain)]
