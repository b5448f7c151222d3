"""Rows of the commissions app owned by a given user, for the permission matrix test."""

import itertools

_months = itertools.count()


def make_owned(model, owner):
    from datetime import date

    from commissions import models as m
    from tests.commissions import factories as f
    from tests.orders.factories import OrderFactory

    def statement():
        n = next(_months)
        return f.StatementFactory(rep=owner, period=date(2000 + n // 12, n % 12 + 1, 1))

    rows = {
        m.Plan: lambda: f.PlanFactory(created_by=owner),
        m.CommissionSplit: lambda: f.CommissionSplitFactory(order=OrderFactory(owner=owner), rep=owner),
        m.Statement: statement,
    }
    return rows[model]()
