"""Catalog API: products and categories for signed-in users; the configurator's validation for anyone.

Rows come from catalog.selectors, scoped by the requesting user (sfa.api.base); the configurator's
answer comes from catalog.configurator, the same engine as the public page's.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from catalog import ratelimit
from catalog.api import serializers as s
from catalog.configurator import evaluate_product
from catalog.filters import ProductFilter
from catalog.forms import CLIENT_PRICE_FIELDS
from catalog.models import Category, Product, RelatedProduct
from catalog.selectors import product_list, products_with_prices, public_product_get
from sfa.api.base import ScopedReadOnlyViewSet


class CategoryApi(ScopedReadOnlyViewSet):
    queryset = Category.objects.all()
    serializer_class = s.CategorySerializer
    filterset_fields = ["parent"]
    ordering = ["position", "name", "id"]
    ordering_fields = ["name", "id"]


class ProductApi(ScopedReadOnlyViewSet):
    """The catalog. Filters: ``q`` (name, word or SKU prefix), ``category`` (and those below), ``configurable``,
    ``active``."""

    queryset = Product.objects.all()  # the model, for the permission class and the schema
    serializer_class = s.ProductSerializer
    filterset_class = ProductFilter
    ordering = ["name_key", "id"]
    ordering_fields = ["name_key", "sku", "id"]

    def get_queryset(self) -> QuerySet[Product]:
        return product_list(actor=self.request.user).prefetch_related(
            Prefetch("relations", queryset=RelatedProduct.objects.select_related("related")),
            "faqs",
            "images",
            "documents",
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        products_with_prices(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        product = self.get_object()
        products_with_prices([product])
        return Response(self.get_serializer(product).data)


class ConfiguratorThrottle(BaseThrottle):
    """The public configurator's budget per client address (CONFIGURATOR_RATE_LIMIT), shared with its pages."""

    def allow_request(self, request, view) -> bool:
        self.verdict = ratelimit.hit(request)
        return self.verdict.allowed

    def wait(self) -> float | None:
        return self.verdict.retry_after


class ConfiguratorValidateApi(APIView):
    """Validate and price a configuration of a published configurable product. No login; rate-limited.

    Send the chosen values only: a request carrying a price is refused (400). The answer says whether
    the configuration is valid and why not, the price line by line, the lead time, the SKU code, and
    which values cannot be chosen now (``disabled``) or need another choice (``needs``), with reasons.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ConfiguratorThrottle]

    @extend_schema(
        request=s.ConfiguratorInputSerializer,
        responses={
            200: s.ConfiguratorResultSerializer,
            400: OpenApiResponse(description="Malformed request, or a price sent by the client."),
            404: OpenApiResponse(description="No published configurable product with this slug."),
            429: OpenApiResponse(description="Too many requests from this address; retry after Retry-After seconds."),
        },
        auth=[],
    )
    def post(self, request, slug: str):
        product = public_product_get(slug=slug)
        if not hasattr(request.data, "keys"):
            raise ValidationError({"choices": ['Send a JSON object: {"choices": {…}}.']})
        refused = [name for name in CLIENT_PRICE_FIELDS if name in request.data]
        if refused:
            message = "Prices are computed by the server; do not send one."
            raise ValidationError({name: [message] for name in refused})
        data = s.ConfiguratorInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = evaluate_product(product, data.validated_data["choices"])
        return Response(s.result_data(result))
