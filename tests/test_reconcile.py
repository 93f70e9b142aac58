"""The reconciler's decisions, without any server: what it writes, what it leaves alone."""
from connector.sync.reconcile import (Action, ItemMeta, Known, Wanted, deletion_allowed, diff_collection, is_plan_uid,
                                      owns)

PLAN = "21-kl-tw"
A, B, GONE = "pc-21-kl-tw-ev-t01-m1", "pc-21-kl-tw-td-cb-a-t02-m1-once", "pc-21-kl-tw-ov-t07"


def key(uid: str) -> str:
    return f"/cal/{uid}.ics"


def wanted(*uids, h="h1"):
    return {f"/cal/{u}.ics": Wanted(u, h, f"BODY {u} {h}") for u in uids}


def test_first_sync_creates_everything():
    changes, unchanged, owned = diff_collection("cal", wanted(A, B), {}, PLAN)
    assert [(c.action, c.uid) for c in changes] == [(Action.CREATE, A), (Action.CREATE, B)]
    assert all(c.etag is None for c in changes)
    assert (unchanged, owned) == (0, 0)


def test_unchanged_items_are_never_rewritten():
    known = {key(A): Known('"e1"', PLAN, "h1"), key(B): Known('"e2"', PLAN, "h1")}
    changes, unchanged, owned = diff_collection("cal", wanted(A, B), known, PLAN)
    assert changes == []
    assert (unchanged, owned) == (2, 2)


def test_changed_item_is_updated_with_its_etag():
    known = {key(A): Known('"e1"', PLAN, "old")}
    changes, _, _ = diff_collection("cal", wanted(A), known, PLAN)
    assert len(changes) == 1 and changes[0].action is Action.UPDATE and changes[0].etag == '"e1"'


def test_items_people_added_are_never_touched():
    known = {key(A): Known('"e1"', PLAN, "h1"), "/cal/birthday.ics": Known('"e9"', None, None),
             "/cal/other-plan.ics": Known('"e8"', "12-kh-duk", "x")}
    changes, unchanged, owned = diff_collection("cal", wanted(A), known, PLAN)
    assert changes == [] and unchanged == 1 and owned == 1


def test_items_no_longer_in_the_plan_are_deleted_with_their_etag():
    known = {key(A): Known('"e1"', PLAN, "h1"), key(GONE): Known('"e2"', PLAN, "h1")}
    changes, _, owned = diff_collection("cal", wanted(A), known, PLAN)
    assert [(c.action, c.href, c.etag) for c in changes] == [(Action.DELETE, key(GONE), '"e2"')]
    assert owned == 2


def test_a_person_item_at_our_href_is_left_alone():
    known = {key(A): Known('"e1"', None, None)}
    changes, unchanged, _ = diff_collection("cal", wanted(A), known, PLAN)
    assert changes == [] and unchanged == 0


def test_deleting_more_than_half_needs_force():
    assert deletion_allowed(0, 0, 0.5)
    assert deletion_allowed(5, 10, 0.5)
    assert not deletion_allowed(6, 10, 0.5)
    assert not deletion_allowed(1, 0, 0.5)


def test_an_item_is_ours_only_with_our_marker_at_one_of_our_uids():
    mine = ItemMeta('"e1"', PLAN, "h1")
    assert owns(key(A), mine, PLAN)
    assert not owns("/cal/0b7c51a2-copy.ics", mine, PLAN)  # a person's copy: our marker, their UID
    assert not owns(key("pc-21-kl-tw-xx-t01"), mine, PLAN)  # not a kind of item the connector makes
    assert not owns("/cal/" + A, mine, PLAN)  # not <uid>.ics
    assert not owns(key(A), ItemMeta('"e1"', "21-kl", "h1"), PLAN)


def test_a_plan_whose_code_starts_another_ones_does_not_own_its_items():
    longer = "pc-21-kl-tw-ev-t01-m1"
    assert is_plan_uid(longer, "21-kl-tw") and not is_plan_uid(longer, "21-kl")
    assert not owns(key(longer), ItemMeta('"e"', "21-kl", "h"), "21-kl")


def test_copies_and_foreign_items_are_neither_deleted_nor_counted_as_ours():
    mine = ItemMeta('"e1"', PLAN, "h1")
    known = {key(A): mine, "/cal/copy-of-a.ics": mine, key(GONE): ItemMeta('"e2"', "21-kl", "h1")}
    changes, unchanged, owned = diff_collection("cal", wanted(A), known, PLAN)
    assert (changes, unchanged, owned) == ([], 1, 1)


def test_an_item_whose_etag_is_unknown_is_changed_with_none_for_the_caller_to_read_first():
    known = {key(A): ItemMeta(None, PLAN, "old"), key(GONE): ItemMeta(None, PLAN, "h1")}
    changes, _, _ = diff_collection("cal", wanted(A), known, PLAN)
    assert {(c.action, c.etag) for c in changes} == {(Action.UPDATE, None), (Action.DELETE, None)}


def test_item_meta_reads_the_older_list_form_and_writes_named_fields():
    assert ItemMeta.from_json(['"e"', PLAN, "h"]) == ItemMeta('"e"', PLAN, "h")
    assert ItemMeta.from_json({"etag": "", "plan": PLAN, "hash": "h"}) == ItemMeta(None, PLAN, "h")
    assert ItemMeta('"e"', PLAN, "h").to_json() == {"etag": '"e"', "plan": PLAN, "hash": "h"}
