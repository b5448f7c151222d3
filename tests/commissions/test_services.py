"""Statements computed from the real ledger: orders made and moved through the orders services, plans through
commissions.services, and every figure checked against the order it comes from."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from commissions import calculator, selectors, services
from commissions.models import Rule, Statement, StatementLine
from orders import states
from orders.ledger import ledger_rebuild
from orders.models import SalesEntry
from orders.payments import order_payment_record
from sfa.models import AuditEvent
from tests.commissions.factories import open_opportunity

D = Decimal
TODAY = timezone.localdate()
THIS_MONTH = calculator.month_start(TODAY)
LAST_MONTH = calculator.month_add(THIS_MONTH, -1)


def make_plan(org, *, users=None, teams=(), tiers=(), category_rates=(), spifs=(), **data):
    defaults = {
        "name": data.pop("name", "Plan"),
        "basis": "booking",
        "effective_from": TODAY - timedelta(days=400),
        "base_rate": D("3"),
        "clawback_days": 90,
    }
    return services.plan_save(
        actor=org.admin,
        data={**defaults, **data},
        users=users if users is not None else [org.rep],
        teams=teams,
        tiers=tiers,
        category_rates=category_rates,
        spifs=spifs,
    )


def compute(rep, period=THIS_MONTH):
    return services.statement_compute(rep=rep, period=period)


def lines(statement, **filters):
    return list(statement.lines.filter(**filters).order_by("id"))


def deliver(order, actor):
    states.order_allocate(order=order, actor=actor)
    states.order_ship(order=order, actor=actor)
    return states.order_deliver(order=order, actor=actor)


# --- earning ----------------------------------------------------------------------------------------------------------


def test_a_booking_plan_pays_the_base_rate_on_the_booked_net_and_each_line_points_at_its_order(org, shop, confirmed):
    make_plan(org)
    order = confirmed([(shop.aurora, 2), (shop.manual, 3)])
    statement = compute(org.rep)
    assert statement.status == Statement.Status.DRAFT
    earned = lines(statement, rule=Rule.BASE)
    assert len(earned) == 2
    for line in earned:
        entry = SalesEntry.objects.get(pk=line.entry_id)
        assert entry.kind == "booked" and entry.line_id == line.order_line_id and line.order_id == order.pk
        assert line.basis_amount == entry.amount_base
        assert line.rate == D("3") and line.amount == (entry.amount_base * D("0.03")).quantize(D("0.01"))
        assert line.order_number == order.number
    assert statement.credited == D("2060.00")
    assert statement.commission == D("61.80") and statement.total == D("61.80")


def test_a_rep_on_no_plan_gets_no_statement_and_a_colleagues_orders_do_not_count(org, shop, make_order):
    make_plan(org)
    states.order_confirm(order=make_order([(shop.aurora, 1)], actor=org.rep_b), actor=org.rep_b)
    assert compute(org.rep_b) is None
    statement = compute(org.rep)
    assert statement.total == 0 and statement.lines.count() == 0


def test_tiers_by_quota_attainment_are_marginal_and_category_rates_replace_them(org, shop, confirmed, quota):
    make_plan(
        org,
        tiers=[(0, 2), (50, 5), (100, 8)],
        category_rates=[(shop.books, 10)],
    )
    quota({org.rep: "2000"})
    confirmed([(shop.aurora, 1)])  # 1000.00: 0–50 % at 2 %, 50 % of quota = 1000
    confirmed([(shop.aurora, 2)])  # 2000.00: 1000–2000 at 5 %, 2000–3000 at 8 %
    confirmed([(shop.manual, 5)])  # 100.00 books: 10 %, counted in attainment
    statement = compute(org.rep)
    tier_lines = lines(statement, rule=Rule.TIER)
    assert [(line.basis_amount, line.rate) for line in tier_lines] == [
        (D("1000.00"), D("2")),
        (D("1000.00"), D("5")),
        (D("1000.00"), D("8")),
    ]
    assert [line.amount for line in tier_lines] == [D("20.00"), D("50.00"), D("80.00")]
    (books,) = lines(statement, rule=Rule.CATEGORY)
    assert books.amount == D("10.00") and "Books" in books.detail
    assert statement.quota == D("2000") and statement.attainment == D("155.0")
    plan = statement.summary[0]
    assert plan["attainment"] == "155.0" and plan["rate_now"] == "8"


def test_without_a_quota_a_tiered_plan_pays_its_base_rate_and_says_so(org, shop, confirmed, quota):
    make_plan(org, tiers=[(0, 2), (50, 5)])
    confirmed([(shop.aurora, 1)])
    statement = compute(org.rep)
    (line,) = lines(statement)
    assert line.rule == Rule.BASE and line.amount == D("30.00") and "no quota" in line.detail
    assert statement.summary[0]["no_quota"] is True


def test_a_delivery_plan_earns_on_delivery_and_pays_the_spif_per_unit_in_its_dates(org, shop, confirmed):
    make_plan(
        org,
        basis="delivery",
        base_rate=D("4"),
        spifs=[
            {
                "product": shop.aurora,
                "amount_per_unit": D("25"),
                "starts_on": TODAY - timedelta(days=5),
                "ends_on": TODAY,
            },
            {
                "product": shop.manual,
                "amount_per_unit": D("1"),
                "starts_on": TODAY + timedelta(days=1),
                "ends_on": TODAY + timedelta(days=9),
            },
        ],
    )
    order = confirmed([(shop.aurora, 2), (shop.manual, 1)])
    assert compute(org.rep).total == 0  # booked, not delivered: nothing yet
    deliver(order, org.rep)
    statement = compute(org.rep)
    assert [(line.event, line.rule, line.amount) for line in lines(statement, rule=Rule.BASE)] == [
        ("delivered", "base", D("80.00")),
        ("delivered", "base", D("0.80")),
    ]
    (spif,) = lines(statement, rule=Rule.SPIF)
    assert spif.amount == D("50.00") and spif.units == 2 and spif.order_line.product == shop.aurora
    assert statement.total == D("130.80")


def test_a_payment_plan_earns_pro_rata_on_what_was_paid_and_the_whole_line_once_paid(org, shop, confirmed):
    make_plan(org, basis="payment", base_rate=D("10"))
    order = confirmed([(shop.aurora, 1), (shop.manual, 1)])  # net 1020.00, total with tax 1211.40
    assert order.total == D("1211.40")
    order_payment_record(order=order, amount=D("400.00"), received_on=TODAY, actor=org.manager)
    statement = compute(org.rep)
    credits = {line.order_line_id: line.basis_amount for line in lines(statement)}
    assert sum(credits.values()) == D("336.80")  # per line: 1000 × 400 / 1211.40 + 20 × 400 / 1211.40
    order_payment_record(order=order, amount=order.total - D("400.00"), received_on=TODAY, actor=org.manager)
    statement = compute(org.rep)
    by_line: dict[int, Decimal] = {}
    for line in lines(statement):
        assert line.event == "payment" and line.payment_id is not None
        by_line[line.order_line_id] = by_line.get(line.order_line_id, D(0)) + line.basis_amount
    booked = dict(SalesEntry.objects.filter(order=order, kind="booked").values_list("line_id", "amount_base"))
    assert by_line == booked
    assert statement.total == D("102.00")


def test_splits_share_the_credit_to_the_cent_and_each_rep_earns_at_their_own_plan(org, shop, confirmed):
    make_plan(org, users=[org.rep], base_rate=D("3"), name="North")
    make_plan(org, users=[org.rep_b], base_rate=D("5"), name="North B")
    order = confirmed([(shop.aurora, 1), (shop.manual, 1)])
    services.order_splits_set(order=order, splits=[(org.rep, "66.67"), (org.rep_b, "33.33")], actor=org.manager)
    mine, theirs = compute(org.rep), compute(org.rep_b)
    booked = SalesEntry.objects.filter(order=order, kind="booked")
    for entry in booked:
        a = StatementLine.objects.get(statement=mine, entry_id=entry.pk)
        b = StatementLine.objects.get(statement=theirs, entry_id=entry.pk)
        assert a.basis_amount + b.basis_amount == entry.amount_base
        assert (a.split_percent, b.split_percent) == (D("66.67"), D("33.33"))
        assert "split 66.67 %" in a.detail
    assert mine.credited + theirs.credited == D("1020.00")
    assert theirs.total == (theirs.credited * D("0.05")).quantize(D("0.01"))


def test_a_split_must_add_up_to_100_and_only_the_reps_managers_set_it(org, shop, confirmed):
    order = confirmed([(shop.aurora, 1)])
    with pytest.raises(ValidationError, match="add up to 90"):
        services.order_splits_set(order=order, splits=[(org.rep, 60), (org.rep_b, 30)], actor=org.manager)
    with pytest.raises(PermissionDenied):
        services.order_splits_set(order=order, splits=[(org.rep, 50), (org.rep_b, 50)], actor=org.rep)
    with pytest.raises(PermissionDenied):
        services.order_splits_set(order=order, splits=[(org.rep, 50), (org.rep_b, 50)], actor=org.manager_b)
    with pytest.raises(ValidationError, match="Not a rep of your teams: "):  # not themselves, nor another team's
        services.order_splits_set(order=order, splits=[(org.rep, 50), (org.manager, 50)], actor=org.manager)
    with pytest.raises(ValidationError, match="Not a rep of your teams: "):
        services.order_splits_set(order=order, splits=[(org.rep, 50), (org.rep_other, 50)], actor=org.manager)
    services.order_splits_set(order=order, splits=[(org.rep, 50), (org.rep_b, 50)], actor=org.manager)
    assert AuditEvent.objects.filter(verb="commission split set", object_id=str(order.pk)).count() == 1
    services.order_splits_set(order=order, splits=[], actor=org.manager)
    assert not order.commission_splits.exists()


def test_a_team_on_a_plan_means_its_members_and_those_of_the_teams_below(org, shop, confirmed):
    europe = org.director.team
    make_plan(org, users=[], teams=[europe])
    confirmed([(shop.aurora, 1)])
    assert compute(org.rep).total == D("30.00")  # rep is in North, below Europe
    assert {u.username for u in services.reps_in_scope(actor=None, period=THIS_MONTH)} >= {"rep", "rep_b", "rep_other"}
    assert "rep_other" not in {u.username for u in services.reps_in_scope(actor=org.manager, period=THIS_MONTH)}


def test_the_cap_takes_off_what_a_month_earns_above_it(org, shop, confirmed):
    make_plan(org, base_rate=D("10"), cap_amount=D("150"))
    confirmed([(shop.aurora, 2)])
    statement = compute(org.rep)
    (cap,) = lines(statement, rule=Rule.CAP)
    assert cap.amount == D("-50.00") and statement.cap == D("-50.00") and statement.total == D("150.00")


def test_clawbacks_come_after_the_cap_take_back_what_was_paid_and_a_negative_month_carries_forward(
    org, shop, confirmed
):
    """docs/commissions.md "Cap, clawbacks and a negative month": the cap limits earnings; clawbacks and
    adjustments are taken off the capped amount; a month left below zero pays 0 and the next statement recovers
    the balance from what it earns."""
    next_month = calculator.month_add(THIS_MONTH, 1)
    make_plan(org, base_rate=D("10"), cap_amount=D("150"))
    first = confirmed([(shop.aurora, 2)])  # earns 200, paid 150 under the cap
    SalesEntry.objects.filter(order=first).update(on=LAST_MONTH)
    last = compute(org.rep, LAST_MONTH)
    assert (last.commission, last.cap, last.total) == (D("200.00"), D("-50.00"), D("150.00"))
    confirmed([(shop.aurora, 3)])  # this month earns 300, capped at 150
    states.order_cancel(order=first, actor=org.rep, reason="Customer withdrew")
    now = compute(org.rep)
    (claw,) = lines(now, rule=Rule.CLAWBACK)
    # Back what the sale was paid (200 × 150/200), not what it earned before the cap: the rep never got 200.
    assert claw.amount == D("-150.00") and "150.00 paid (200.00 earned, capped)" in claw.detail
    # After the cap: the capped 150 less the clawback (before the cap the month would still pay 150).
    assert (now.cap, now.clawback, now.total, now.carried_out) == (D("-150.00"), D("-150.00"), D("0.00"), 0)
    services.statement_adjust(statement=now, amount="-40", note="Demo car damaged", actor=org.manager)
    now.refresh_from_db()
    (out,) = lines(now, rule=Rule.CARRY_OUT)
    assert out.amount == D("40.00") and now.carried_out == D("40.00") and now.total == 0  # payroll pays 0
    assert compute(org.rep).carried_out == D("40.00")  # recomputing keeps one carry line
    later = confirmed([(shop.aurora, 1)])  # next month earns 100
    SalesEntry.objects.filter(order=later).update(on=next_month)
    following = compute(org.rep, next_month)
    (recovered,) = lines(following, rule=Rule.CARRY_IN)
    assert recovered.amount == D("-40.00") and following.carried_in == D("-40.00") and following.total == D("60.00")
    assert compute(org.rep, next_month).total == D("60.00")  # recovered once, however often it is computed
    # Nothing lost or paid twice: 150 + 0 + 60 = (200 - 50) + (300 - 150 - 150 - 40) + 100.
    assert sum(Statement.objects.filter(rep=org.rep).values_list("total", flat=True)) == D("210.00")


def test_a_balance_is_recovered_over_as_many_months_as_it_takes(org, shop, confirmed):
    make_plan(org, base_rate=D("10"))
    SalesEntry.objects.filter(order=confirmed([(shop.aurora, 1)])).update(on=LAST_MONTH)
    services.statement_adjust(
        statement=compute(org.rep, LAST_MONTH), amount="-250", note="Advance paid in cash", actor=org.manager
    )
    assert Statement.objects.get(period=LAST_MONTH).carried_out == D("150.00")
    confirmed([(shop.aurora, 1)])
    now = compute(org.rep)
    assert (now.carried_in, now.carried_out, now.total) == (D("-150.00"), D("50.00"), 0)
    services.statement_approve(statement=now, actor=org.manager)
    next_month = calculator.month_add(THIS_MONTH, 1)
    SalesEntry.objects.filter(order=confirmed([(shop.aurora, 1)])).update(on=next_month)
    following = compute(org.rep, next_month)
    assert (following.carried_in, following.total) == (D("-50.00"), D("50.00"))
    # The earlier month, still a draft, is corrected after this one was approved: the next open month settles it.
    last = Statement.objects.get(period=LAST_MONTH)
    services.statement_adjust(statement=last, amount="100", note="Advance partly repaid", actor=org.manager)
    assert compute(org.rep, LAST_MONTH).carried_out == D("50.00")
    following = compute(org.rep, next_month)
    assert following.carried_in == D("50.00") and following.total == D("150.00")  # 100 recovered too much, returned
    assert sum(Statement.objects.filter(rep=org.rep).values_list("total", flat=True)) == D("150.00")  # 300 - 250 + 100


# --- clawbacks --------------------------------------------------------------------------------------------------------


def test_a_cancellation_within_the_window_takes_back_exactly_what_the_order_earned(org, shop, confirmed, quota):
    make_plan(
        org,
        tiers=[(0, 2), (50, 5), (100, 8)],
        spifs=[
            {
                "product": shop.aurora,
                "amount_per_unit": D("7.5"),
                "starts_on": LAST_MONTH,
                "ends_on": TODAY,
            }
        ],
    )
    quota({org.rep: "1500"})
    order = confirmed([(shop.aurora, 2), (shop.manual, 3)])
    SalesEntry.objects.filter(order=order).update(on=LAST_MONTH)
    earned = compute(org.rep, LAST_MONTH)
    earned_total = earned.total
    assert earned_total > 0 and lines(earned, rule=Rule.TIER) and lines(earned, rule=Rule.SPIF)
    states.order_cancel(order=order, actor=org.rep, reason="Customer changed their mind")
    now = compute(org.rep)
    claws = lines(now, rule=Rule.CLAWBACK)
    assert {line.event for line in claws} == {"cancelled"}
    assert sum(line.amount for line in claws) == -earned_total
    assert services.earned_on_order(rep=org.rep, order=order) == 0


def test_a_cancellation_after_the_window_keeps_the_commission(org, shop, confirmed):
    make_plan(org, clawback_days=30)
    order = confirmed([(shop.aurora, 1)])
    SalesEntry.objects.filter(order=order).update(on=TODAY - timedelta(days=45))
    compute(org.rep, TODAY - timedelta(days=45))
    states.order_cancel(order=order, actor=org.rep, reason="Too late")
    (kept,) = lines(compute(org.rep), rule=Rule.CLAWBACK)
    assert kept.amount == 0 and "commission kept" in kept.detail and "45 days" in kept.detail


def test_returns_take_back_a_share_per_unit_and_everything_once_all_units_are_back(org, shop, confirmed):
    make_plan(org, basis="delivery", base_rate=D("3.33"))
    order = confirmed([(shop.aurora, 3)])
    deliver(order, org.rep)
    statement = compute(org.rep)
    earned = statement.total
    line = order.lines.get()
    states.order_return(order=order, actor=org.rep, quantities={line.pk: 1}, reason="Damaged")
    statement = compute(org.rep)
    first = sum(x.amount for x in lines(statement, rule=Rule.CLAWBACK))
    assert first == -(earned / 3).quantize(D("0.01"))
    states.order_return(order=order, actor=org.rep, quantities={line.pk: 2}, reason="Damaged too")
    statement = compute(org.rep)
    assert sum(x.amount for x in lines(statement, rule=Rule.CLAWBACK)) == -earned
    assert statement.total == 0


def test_a_split_deal_cancelled_claws_back_from_each_rep_what_they_earned(org, shop, confirmed):
    make_plan(org, users=[org.rep, org.rep_b], base_rate=D("3.7"))
    order = confirmed([(shop.aurora, 1), (shop.manual, 7)])
    services.order_splits_set(order=order, splits=[(org.rep, 70), (org.rep_b, 30)], actor=org.manager)
    before = {rep: compute(rep).total for rep in (org.rep, org.rep_b)}
    states.order_cancel(order=order, actor=org.rep, reason="Lost")
    for rep in (org.rep, org.rep_b):
        statement = compute(rep)
        assert sum(x.amount for x in lines(statement, rule=Rule.CLAWBACK)) == -before[rep]
        assert statement.total == 0


# --- approval, locking, late events, adjustments ----------------------------------------------------------------------


def test_recomputing_a_draft_replaces_its_lines_and_keeps_adjustments(org, shop, confirmed):
    make_plan(org)
    confirmed([(shop.aurora, 1)])
    statement = compute(org.rep)
    services.statement_adjust(statement=statement, amount="12.50", note="Trade fair bonus", actor=org.manager)
    ids = set(statement.lines.filter(is_computed=True).values_list("id", flat=True))
    again = compute(org.rep)
    assert again.pk == statement.pk
    assert not ids & set(again.lines.filter(is_computed=True).values_list("id", flat=True))
    assert again.lines.count() == 2 and again.total == D("42.50") and again.adjustments == D("12.50")


def test_an_approved_statement_is_locked_and_later_ledger_events_land_on_the_next_open_month(org, shop, confirmed):
    make_plan(org)
    first = confirmed([(shop.aurora, 1)])
    SalesEntry.objects.filter(order=first).update(on=LAST_MONTH)
    last = compute(org.rep, LAST_MONTH)
    services.statement_approve(statement=last, actor=org.manager)
    late = confirmed([(shop.manual, 5)])
    SalesEntry.objects.filter(order=late).update(on=LAST_MONTH + timedelta(days=3))  # booked into the closed month
    again = compute(org.rep, LAST_MONTH)
    assert again.total == D("30.00") and again.lines.count() == 1  # locked: unchanged
    now = compute(org.rep)
    (line,) = lines(now)
    assert line.late and line.order_id == late.pk and line.amount == D("3.00")
    assert compute(org.rep).lines.count() == 1  # and only once


def test_approval_rules(org, shop, confirmed):
    make_plan(org, users=[org.rep, org.manager])
    confirmed([(shop.aurora, 1)])
    statement = compute(org.rep)
    with pytest.raises(PermissionDenied):
        services.statement_approve(statement=statement, actor=org.rep)
    with pytest.raises(PermissionDenied):
        services.statement_approve(statement=statement, actor=org.manager_b)
    own = services.statement_compute(rep=org.manager, period=THIS_MONTH)
    with pytest.raises(PermissionDenied, match="their own"):
        services.statement_approve(statement=own, actor=org.manager)
    with pytest.raises(ValidationError, match="note"):
        services.statement_adjust(statement=statement, amount="5", note=" ", actor=org.manager)
    services.statement_approve(statement=statement, actor=org.manager)
    assert statement.status == "approved" and statement.approved_by == org.manager
    assert AuditEvent.objects.filter(verb="statement approved", object_id=str(statement.pk)).exists()
    with pytest.raises(ValidationError, match="approved"):
        services.statement_adjust(statement=statement, amount="5", note="Late fix", actor=org.manager)
    with pytest.raises(ValidationError, match="already"):
        services.statement_approve(statement=statement, actor=org.admin)


def test_the_job_computes_every_month_in_order_and_is_safe_to_run_twice(
    org, shop, confirmed, django_capture_on_commit_callbacks
):
    from sfa.models import Job

    make_plan(org, users=[org.rep, org.rep_b])
    order = confirmed([(shop.aurora, 1)])
    SalesEntry.objects.filter(order=order).update(on=LAST_MONTH)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.statements_compute_start(actor=org.manager, first=LAST_MONTH, last=THIS_MONTH)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert job.result["computed"] == 4 and job.progress == 100
    assert Statement.objects.filter(rep=org.rep).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.statements_compute_start(actor=org.manager, first=LAST_MONTH, last=THIS_MONTH)
    assert Statement.objects.count() == 4
    assert Job.objects.filter(kind=services.JOB_KIND).count() == 2
    with pytest.raises(PermissionDenied):
        services.statements_compute_start(actor=org.rep, first=LAST_MONTH, last=THIS_MONTH)


@pytest.mark.parametrize("status", [Statement.Status.DRAFT, Statement.Status.APPROVED])
def test_a_first_compute_that_loses_the_race_to_create_the_statement_takes_the_winners(
    org, shop, confirmed, monkeypatch, status
):
    """Two first computes of one month both read "no statement yet"; the unique (rep, period) constraint lets one
    create it and the other goes on with that statement instead of failing or making a second one."""
    make_plan(org)
    confirmed([(shop.aurora, 1)])
    real = calculator.month_compute
    seen = []

    def racing(rep, period, **kwargs):
        seen.append(kwargs["statement_id"])
        if len(seen) == 1:  # the other compute commits its statement between our read and our insert
            other = Statement.objects.create(rep=rep, period=period, status=status)
            StatementLine.objects.create(statement=other, rule=Rule.BASE, event="booked", on=period, amount=D("99"))
        return real(rep, period, **kwargs)

    monkeypatch.setattr(calculator, "month_compute", racing)
    statement = compute(org.rep)
    assert Statement.objects.filter(rep=org.rep).count() == 1 and statement == Statement.objects.get(rep=org.rep)
    if status == Statement.Status.APPROVED:
        assert seen == [None] and statement.is_locked and statement.total == 0  # locked: left as the winner made it
    else:
        assert seen == [None, statement.pk]  # computed again with its id (clawbacks must not count its lines)
        assert statement.total == D("30.00") and statement.lines.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_computes_make_one_statement(org, shop, confirmed, monkeypatch):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time (BEGIN IMMEDIATE): the race cannot happen there")
    make_plan(org)
    confirmed([(shop.aurora, 1)])
    real = calculator.month_compute
    barrier = threading.Barrier(2, timeout=20)
    waited = threading.local()

    def in_step(rep, period, **kwargs):
        if not getattr(waited, "done", False):  # both computes have read "no statement yet" before either writes
            waited.done = True
            barrier.wait()
        return real(rep, period, **kwargs)

    monkeypatch.setattr(calculator, "month_compute", in_step)
    results: list = []

    def run() -> None:
        try:
            results.append(compute(org.rep).pk)
        except Exception as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statement = Statement.objects.get(rep=org.rep)
    assert results == [statement.pk, statement.pk], results
    assert statement.total == D("30.00") and statement.lines.count() == 1


def test_the_ledger_rebuild_keeps_statement_lines_pointing_at_their_rows(org, shop, confirmed):
    make_plan(org)
    order = confirmed([(shop.aurora, 1), (shop.manual, 2)])
    statement = compute(org.rep)
    services.statement_approve(statement=statement, actor=org.manager)
    ledger_rebuild()
    for line in statement.lines.all():
        entry = SalesEntry.objects.get(pk=line.entry_id)
        assert entry.line_id == line.order_line_id and entry.kind == "booked" and entry.order_id == order.pk


# --- the opportunity estimate -----------------------------------------------------------------------------------------


def test_an_open_opportunity_shows_what_it_would_earn_at_the_reps_tier(org, shop, confirmed, quota):
    make_plan(org, tiers=[(0, 2), (50, 5)], category_rates=[(shop.books, 10)])
    quota({org.rep: "2000"})
    confirmed([(shop.aurora, 1)])  # 1000 so far: 50 % attained
    opportunity = open_opportunity(org.rep, amount=D("400"))
    estimate = selectors.opportunity_estimate(actor=org.rep, opportunity=opportunity)
    assert estimate["total"] == D("20.00")  # 400 at the 5 % tier
    assert estimate["attainment_before"] == D("50.0") and estimate["attainment_after"] == D("70.0")
    assert selectors.opportunity_estimate(actor=org.rep_b, opportunity=opportunity) is None
    assert selectors.opportunity_estimate(actor=org.manager, opportunity=opportunity)["total"] == D("20.00")
