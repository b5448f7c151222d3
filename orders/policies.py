"""Who may see and change quotes, orders, stock and the order settings (see docs/permissions.md)."""

from orders.models import (
    ExchangeRate,
    Holiday,
    Order,
    OrderImport,
    OrderSettings,
    Payment,
    Quote,
    StockLevel,
    TaxRate,
    Warehouse,
)
from sfa.permissions import ADMIN_MANAGED, Policy, Scope, register, rule

ALL, TEAM, OWN, NONE = Scope.ALL, Scope.TEAM, Scope.OWN, Scope.NONE


@register
class QuotePolicy(Policy):
    """A rep works their own quotes; a discount above the threshold needs a manager of the rep's team."""

    model = Quote
    owner = "owner"
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(ALL, ALL, ALL),
        "change": rule(OWN, TEAM, ALL),
        "delete": rule(NONE, NONE, ALL),
        "approve": rule(NONE, TEAM, ALL),
    }


@register
class OrderPolicy(Policy):
    """Reps see and move their own orders; managers their teams'; admins all. Nobody deletes an order."""

    model = Order
    owner = "owner"
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(ALL, ALL, ALL),
        "change": rule(OWN, TEAM, ALL),
        "delete": rule(NONE, NONE, NONE),
    }


@register
class OrderImportPolicy(Policy):
    """Importing order history is for admins (it writes sales that feed forecasts and commissions)."""

    model = OrderImport
    owner = "created_by"
    rules = {
        "view": rule(NONE, NONE, ALL),
        "add": rule(NONE, NONE, ALL),
        "change": rule(NONE, NONE, ALL),
        "delete": rule(NONE, NONE, ALL),
    }


@register
class PaymentPolicy(Policy):
    """Whoever sees the order sees its payments; managers (of the rep's team) and admins record them. A payment
    is never changed or deleted (commissions were paid on it)."""

    model = Payment
    owner = "order__owner"
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(NONE, TEAM, ALL),
        "change": rule(NONE, NONE, NONE),
        "delete": rule(NONE, NONE, NONE),
    }


@register
class StockLevelPolicy(Policy):
    """Everybody selling sees stock; admins set it (receipts, counts)."""

    model = StockLevel
    owner = None
    rules = ADMIN_MANAGED


for _model in (Warehouse, TaxRate, Holiday, ExchangeRate, OrderSettings):

    @register
    class _AdminManaged(Policy):
        model = _model
        owner = None
        rules = ADMIN_MANAGED
