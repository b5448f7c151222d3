"""Quotes, orders, stock and warehouses over the API.

Rows come scoped by the requesting user (sfa.api.base); every write goes through orders.services,
orders.states or orders.stock, which check the policy again, run in one transaction and audit. An
illegal transition (``orders.states.TransitionError``) or a stale ``version`` answers 409 with the
service's message; bad input 400 naming the field; a row the user may not see 404, one they may see but
not change 403. Creates and transitions accept an ``Idempotency-Key`` header (sfa.api.idempotency).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from orders import selectors, services, states, stock
from orders.api import serializers as s
from orders.models import Order, Quote, StockLevel, Warehouse
from orders.payments import order_payment_record, payment_list
from sfa.api.base import ScopedReadOnlyViewSet
from sfa.api.exceptions import Conflict
from sfa.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_RESPONSES, idempotent
from sfa.api.views import as_drf_error
from sfa.filters import IdFilter
from sfa.permissions import scoped

# --- Errors --------------------------------------------------------------------------------------------


CONFLICT = OpenApiResponse(description="Not possible in the record's current status, or changed meanwhile")


def _is_stale(exc: DjangoValidationError) -> bool:
    """A service's refusal of an edit made on an old version (``quote_update(version=…)``)."""
    if hasattr(exc, "error_dict"):
        return "version" in exc.error_dict
    return any(error.code == "stale" or "changed by someone else" in str(error) for error in exc.error_list)


@contextmanager
def service_errors(*, transition: bool = False, field: str | None = None) -> Iterator[None]:
    """A service's refusals as API answers.

    An illegal transition (``TransitionError``) and an edit of a stale version answer 409; so does any
    other refusal without a field during a ``transition`` (the input was checked by its serializer, so
    the service objects to the record's state: "Quote Q-000003 is sent: it cannot be approved", "Only 1
    unit of Aurora 100 is available"). Other errors answer 400, under ``field`` when the service named
    none; the policy's refusal 403.
    """
    try:
        yield
    except states.TransitionError as exc:
        raise Conflict(" ".join(exc.messages)) from exc
    except DjangoValidationError as exc:
        if _is_stale(exc) or (transition and not hasattr(exc, "error_dict")):
            raise Conflict(" ".join(exc.messages)) from exc
        if field and not hasattr(exc, "error_dict"):
            raise ValidationError({field: exc.messages}) from exc
        raise as_drf_error(exc) from exc
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or None) from exc


# --- Filters -------------------------------------------------------------------------------------------
# The HTML lists' filter sets (orders.selectors), with what the API adds.


class QuoteApiFilter(selectors.QuoteFilter):
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta(selectors.QuoteFilter.Meta):
        fields = [*selectors.QuoteFilter.Meta.fields, "created_after", "created_before"]

    def __init__(self, *args: Any, request=None, **kwargs: Any) -> None:
        # needs_my_approval asks who is asking.
        super().__init__(*args, request=request, actor=getattr(request, "user", None), **kwargs)


class OrderApiFilter(selectors.OrderFilter):
    # A choice (400 on an unknown value) rather than the HTML filter's free text.
    status = django_filters.ChoiceFilter(
        choices=[("open", "Open (confirmed to shipped)"), *Order.Status.choices], method="filter_status"
    )
    promised_after = django_filters.DateFilter(field_name="promised_date", lookup_expr="gte")
    promised_before = django_filters.DateFilter(field_name="promised_date", lookup_expr="lte")

    class Meta(selectors.OrderFilter.Meta):
        fields = [*selectors.OrderFilter.Meta.fields, "promised_after", "promised_before"]


class StockApiFilter(selectors.StockFilter):
    product = IdFilter(field_name="product_id")

    class Meta(selectors.StockFilter.Meta):
        fields = [*selectors.StockFilter.Meta.fields, "product"]


# --- Quotes --------------------------------------------------------------------------------------------


class QuoteApi(mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """Quotes: a rep sees their own, a manager their teams'. Filter by ``q`` (number or customer), status,
    owner, account, contact, opportunity, open, needs_my_approval and created_after/created_before.
    Actions move a quote: request-approval, approve, decline, send, accept (answers the new order), reject."""

    queryset = Quote.objects.select_related("owner", "account", "contact", "order").prefetch_related("lines__product")
    serializer_class = s.QuoteSerializer
    filterset_class = QuoteApiFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "valid_until", "total", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @property
    def policy_action(self) -> str | None:
        if self.action == "approve":
            return "approve"
        if self.action in ("request_approval", "decline", "send", "accept", "reject"):
            return "change"
        return None

    @extend_schema(
        request=s.QuoteInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: s.QuoteSerializer, **IDEMPOTENCY_RESPONSES},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = self._validated(s.QuoteInputSerializer)
        with service_errors():
            quote = services.quote_create(actor=request.user, source=Quote.Source.API, **data.validated_data)
        return Response(self._out(quote), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.QuoteUpdateSerializer, responses={200: s.QuoteSerializer, 409: CONFLICT})
    def partial_update(self, request, *args, **kwargs):
        quote = self.get_object()
        data = self._validated(s.QuoteUpdateSerializer)
        with service_errors():
            quote = services.quote_update(quote=quote, actor=request.user, **data.service_kwargs())
        return Response(self._out(quote))

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: s.QuoteSerializer, 409: CONFLICT, **IDEMPOTENCY_RESPONSES},
    )
    @action(detail=True, methods=["post"], url_path="request-approval")
    @idempotent
    def request_approval(self, request, *args, **kwargs):
        """Send a draft quote whose discount is above the threshold to the rep's managers."""
        return self._move(services.quote_request_approval)

    @extend_schema(
        request=s.ApprovalInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: s.QuoteSerializer, 409: CONFLICT, **IDEMPOTENCY_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request, *args, **kwargs):
        """Approve a waiting quote (the rep's managers and admins; nobody approves their own)."""
        return self._move(services.quote_approve, s.ApprovalInputSerializer)

    @extend_schema(
        request=s.DeclineInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: s.QuoteSerializer, 409: CONFLICT, **IDEMPOTENCY_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def decline(self, request, *args, **kwargs):
        """Send a waiting quote back to draft with a note saying why."""
        return self._move(services.quote_decline, s.DeclineInputSerializer)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: s.QuoteSerializer, 409: CONFLICT, **IDEMPOTENCY_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def send(self, request, *args, **kwargs):
        """Mark the quote sent to the customer (a draft that needs no approval, or an approved one)."""
        return self._move(services.quote_send)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: s.OrderDetailSerializer, 409: CONFLICT, **IDEMPOTENCY_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def accept(self, request, *args, **kwargs):
        """The customer accepted: the quote becomes accepted and a draft order is made from it (answered)."""
        quote = self.get_object()
        with service_errors(transition=True):
            order = services.quote_accept(quote=quote, actor=request.user)
        return Response(_order_out(self, order), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ReasonInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: s.QuoteSerializer, 409: CONFLICT, **IDEMPOTENCY_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request, *args, **kwargs):
        """The customer turned a sent quote down."""
        return self._move(services.quote_reject, s.ReasonInputSerializer)

    def _move(self, service, input_serializer: type | None = None) -> Response:
        quote = self.get_object()
        params = dict(self._validated(input_serializer).validated_data) if input_serializer else {}
        with service_errors(transition=True):
            quote = service(quote=quote, actor=self.request.user, **params)
        return Response(self._out(quote))

    def _validated(self, serializer_class: type) -> Any:
        data = serializer_class(data=self.request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return data

    def _out(self, quote: Quote) -> dict[str, Any]:
        # Read back through the scoped queryset: the same joins and prefetches as a GET.
        fresh = self.get_queryset().get(pk=quote.pk)
        return s.QuoteSerializer(fresh, context=self.get_serializer_context()).data


# --- Orders --------------------------------------------------------------------------------------------

# The body of each transition (None: no body); the view action of "return" is return_ (a keyword).
TRANSITION_INPUTS: dict[str, type | None] = {
    "confirm": s.ConfirmInputSerializer,
    "allocate": s.NoteInputSerializer,
    "ship": s.ShipInputSerializer,
    "deliver": s.DeliverInputSerializer,
    "close": None,
    "cancel": s.ReasonInputSerializer,
    "return": s.ReturnInputSerializer,
}


def _transition_schema(request, summary: str):
    return extend_schema(
        summary=summary,
        request=request,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: s.OrderDetailSerializer, 409: CONFLICT, **IDEMPOTENCY_RESPONSES},
    )


def _order_out(view, order: Order) -> dict[str, Any]:
    """The order as GET /api/orders/{id}/ shows it (read back, so lines and events are current)."""
    fresh = s.order_detail_queryset(scoped(view.request.user, Order.objects.all())).get(pk=order.pk)
    return s.OrderDetailSerializer(fresh, context=view.get_serializer_context()).data


class OrderApi(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Orders: a rep sees their own, a manager their teams', admins all. Filter by ``q`` (number or the old
    system's number), status (or ``open``), owner, account, contact, opportunity, customer (name), at_risk,
    ordered_after/ordered_before and promised_after/promised_before. The detail has the lines, shipments,
    history and the transitions you may make now (POST /api/orders/{id}/<action>/)."""

    queryset = Order.objects.select_related("owner", "account", "contact")
    serializer_class = s.OrderSerializer
    filterset_class = OrderApiFilter
    ordering = ["-ordered_on", "-id"]
    ordering_fields = ["ordered_on", "promised_date", "total", "id"]
    http_method_names = ["get", "post", "head", "options"]

    @property
    def policy_action(self) -> str | None:
        return "change" if (self.action or "").rstrip("_") in TRANSITION_INPUTS else None

    def get_queryset(self) -> QuerySet[Order]:
        queryset = super().get_queryset()
        if self.action != "list":
            queryset = s.order_detail_queryset(queryset)
        return queryset

    def get_serializer_class(self):
        return s.OrderSerializer if self.action == "list" else s.OrderDetailSerializer

    @extend_schema(
        request=s.OrderInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: s.OrderDetailSerializer, **IDEMPOTENCY_RESPONSES},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        """A draft order entered by hand (prices frozen from the price list); confirm it to book the sale."""
        data = s.OrderInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        with service_errors():
            order = services.order_create(actor=request.user, source=Order.Source.API, **data.validated_data)
        return Response(_order_out(self, order), status=status.HTTP_201_CREATED)

    @_transition_schema(s.ConfirmInputSerializer, "Confirm a draft: reserve stock, promise a date, book the sale")
    @action(detail=True, methods=["post"])
    @idempotent
    def confirm(self, request, *args, **kwargs):
        return self._transition("confirm")

    @_transition_schema(s.NoteInputSerializer, "Allocate a confirmed order: every line fully reserved")
    @action(detail=True, methods=["post"])
    @idempotent
    def allocate(self, request, *args, **kwargs):
        return self._transition("allocate")

    @_transition_schema(s.ShipInputSerializer, "Ship some or all of what is left (one shipment)")
    @action(detail=True, methods=["post"])
    @idempotent
    def ship(self, request, *args, **kwargs):
        return self._transition("ship")

    @_transition_schema(s.DeliverInputSerializer, "Mark one shipment, or all, delivered")
    @action(detail=True, methods=["post"])
    @idempotent
    def deliver(self, request, *args, **kwargs):
        return self._transition("deliver")

    @_transition_schema(None, "Close a delivered order")
    @action(detail=True, methods=["post"])
    @idempotent
    def close(self, request, *args, **kwargs):
        return self._transition("close")

    @_transition_schema(s.ReasonInputSerializer, "Cancel an order before it ships: reservations released")
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request, *args, **kwargs):
        return self._transition("cancel")

    @_transition_schema(s.ReturnInputSerializer, "Take back shipped units (some lines, or everything)")
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    @idempotent
    def return_(self, request, *args, **kwargs):
        return self._transition("return")

    @extend_schema(
        summary="The order's payments (GET) or record one (POST: managers of the rep's team and admins)",
        request=s.PaymentInputSerializer,
        responses={200: s.PaymentSerializer(many=True), 201: s.PaymentSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def payments(self, request, *args, **kwargs):
        order = self.get_object()
        if request.method == "GET":
            rows = payment_list(actor=request.user, order=order)
            return Response(s.PaymentSerializer(rows, many=True).data)
        data = s.PaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors(transition=True):
            payment = order_payment_record(order=order, actor=request.user, **data.validated_data)
        return Response(s.PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

    def _transition(self, name: str) -> Response:
        order = self.get_object()
        params = self._transition_params(name, order)
        with service_errors(transition=True):
            states.order_transition(order=order, actor=self.request.user, action=name, **params)
        return Response(_order_out(self, order))

    def _transition_params(self, name: str, order: Order) -> dict[str, Any]:
        serializer_class = TRANSITION_INPUTS[name]
        if serializer_class is None:
            return {}
        context = {**self.get_serializer_context(), "order": order}
        data = serializer_class(data=self.request.data, context=context)
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        if "lines" in params:  # the API says lines, the services say quantities
            params["quantities"] = params.pop("lines")
        return params


# --- Stock and warehouses ----------------------------------------------------------------------------------


class WarehouseApi(ScopedReadOnlyViewSet):
    """Warehouses, in shipping order (lower priority ships first)."""

    queryset = Warehouse.objects.all()
    serializer_class = s.WarehouseSerializer
    filterset_fields = ["is_active", "country"]
    search_fields = ["code", "name"]
    ordering = ["priority", "code", "id"]
    ordering_fields = ["priority", "code", "name", "id"]


class StockLevelApi(mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """Units on hand, reserved and available per product and warehouse. Filter by product, warehouse,
    ``q`` (product name or SKU) and short (nothing available). Admins set the units on hand (a count):
    POST product, warehouse, on_hand (the row is made when missing) or PATCH on_hand of a row."""

    queryset = StockLevel.objects.select_related("product", "warehouse")
    serializer_class = s.StockLevelSerializer
    filterset_class = StockApiFilter
    ordering = ["product_id", "warehouse_id", "id"]
    ordering_fields = ["on_hand", "reserved", "updated_at", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=s.StockSetSerializer, responses={200: s.StockLevelSerializer})
    def create(self, request, *args, **kwargs):
        data = s.StockSetSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return self._set(**data.validated_data)

    @extend_schema(request=s.StockUpdateSerializer, responses=s.StockLevelSerializer)
    def partial_update(self, request, *args, **kwargs):
        level = self.get_object()
        data = s.StockUpdateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return self._set(product=level.product, warehouse=level.warehouse, **data.validated_data)

    def _set(self, *, product, warehouse, on_hand: int) -> Response:
        with service_errors(field="on_hand"):
            stock.stock_set(product=product, warehouse=warehouse, on_hand=on_hand, actor=self.request.user)
        level = self.get_queryset().get(product=product, warehouse=warehouse)
        return Response(self.get_serializer(level).data)


def register(router: DefaultRouter) -> None:
    router.register("quotes", QuoteApi, basename="quote")
    router.register("orders", OrderApi, basename="order")
    router.register("stock", StockLevelApi, basename="stocklevel")
    router.register("warehouses", WarehouseApi, basename="warehouse")
