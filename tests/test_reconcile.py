"""The reconciler's decisions, without any server: what it writes, what it leaves alone."""
from connector.sync.reconcile import Action, Known, Wanted, deletion_allowed, diff_collection

PLAN = "21-kl-tw"


def wanted(*uids, h="h1"):
    return {f"/cal/{u}.ics": Wanted(u, h, f"BODY {u} {h}") for u in uids}


def test_first_sync_creates_everything():
    changes, unchanged, owned = diff_collection("cal", wanted("a", "b"), {}, PLAN)
    assert [(c.action, c.uid) for c in changes] == [(Action.CREATE, "a"), (Action.CREATE, "b")]
    assert all(c.etag is None for c in changes)
    assert (unchanged, owned) == (0, 0)


def test_unchanged_items_are_never_rewritten():
    known = {"/cal/a.ics": Known('"e1"', PLAN, "h1"), "/cal/b.ics": Known('"e2"', PLAN, "h1")}
    changes, unchanged, owned = diff_collection("cal", wanted("a", "b"), known, PLAN)
    assert changes == []
    assert (unchanged, owned) == (2, 2)


def test_changed_item_is_updated_with_its_etag():
    known = {"/cal/a.ics": Known('"e1"', PLAN, "old")}
    changes, _, _ = diff_collection("cal", wanted("a"), known, PLAN)
    assert len(changes) == 1 and changes[0].action is Action.UPDATE and changes[0].etag == '"e1"'


def test_items_people_added_are_never_touched():
    known = {"/cal/a.ics": Known('"e1"', PLAN, "h1"), "/cal/birthday.ics": Known('"e9"', None, None),
             "/cal/other-plan.ics": Known('"e8"', "12-kh-duk", "x")}
    changes, unchanged, owned = diff_collection("cal", wanted("a"), known, PLAN)
    assert changes == [] and unchanged == 1 and owned == 1


def test_items_no_longer_in_the_plan_are_deleted_with_their_etag():
    known = {"/cal/a.ics": Known('"e1"', PLAN, "h1"), "/cal/gone.ics": Known('"e2"', PLAN, "h1")}
    changes, _, owned = diff_collection("cal", wanted("a"), known, PLAN)
    assert [(c.action, c.href, c.etag) for c in changes] == [(Action.DELETE, "/cal/gone.ics", '"e2"')]
    assert owned == 2


def test_a_person_item_at_our_href_is_left_alone():
    known = {"/cal/a.ics": Known('"e1"', None, None)}
    changes, unchanged, _ = diff_collection("cal", wanted("a"), known, PLAN)
    assert changes == [] and unchanged == 0


def test_deleting_more_than_half_needs_force():
    assert deletion_allowed(0, 0, 0.5)
    assert deletion_allowed(5, 10, 0.5)
    assert not deletion_allowed(6, 10, 0.5)
    assert not deletion_allowed(1, 0, 0.5)
