"""``POST /api/configurator/<slug>/quote-requests/``: the public configurator's quote request, for integrations.

The same flow as the public page (orders.requests.quote_request_create): the server validates and prices
the choices, saves the configuration with its prices frozen, and makes the lead, the consent, the touch and
the draft quote. No login; the configurator's rate limit per address, plus the hourly budget of new requests.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.views import ConfiguratorThrottle
from catalog.forms import CLIENT_PRICE_FIELDS
from catalog.models import Configuration
from catalog.selectors import configuration_by_token, public_product_get
from catalog.services import configuration_save
from orders.requests import quote_request_create
from orders.views_public import new_request_retry_after
from sfa.auth import client_address


class QuoteRequestInputSerializer(serializers.Serializer):
    choices = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Chosen values by attribute code, as for validate/; or send `configuration` instead.",
    )
    configuration = serializers.CharField(
        required=False, max_length=43, help_text="The share token of a configuration saved earlier"
    )
    name = serializers.CharField(max_length=200)
    email = serializers.CharField(max_length=254)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    consent = serializers.BooleanField(default=False, help_text="The customer agrees to be contacted by e-mail")

    def validate(self, data):
        if ("choices" in data) == ("configuration" in data):
            raise serializers.ValidationError("Send either `choices` or `configuration` (a saved share token).")
        return data


class QuoteRequestOutputSerializer(serializers.Serializer):
    quote = serializers.CharField(help_text="The quote number")
    status = serializers.CharField()
    configuration = serializers.CharField(help_text="The share token of the configuration")
    sku_code = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    lead_time_days = serializers.IntegerField()
    share_url = serializers.CharField()


class QuoteRequestApi(APIView):
    """Ask for a quote on a configuration of a published configurable product (no login; rate-limited)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ConfiguratorThrottle]

    @extend_schema(
        request=QuoteRequestInputSerializer,
        responses={
            201: QuoteRequestOutputSerializer,
            400: OpenApiResponse(
                description="Invalid configuration or contact details, or a price sent by the client."
            ),
            404: OpenApiResponse(description="No published configurable product with this slug, or unknown token."),
            429: OpenApiResponse(description="Too many requests from this address; retry after Retry-After seconds."),
        },
        auth=[],
    )
    def post(self, request, slug: str):
        product = public_product_get(slug=slug)
        if not hasattr(request.data, "keys"):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        refused = [name for name in CLIENT_PRICE_FIELDS if name in request.data]
        if refused:
            raise ValidationError({name: ["Prices are computed by the server; do not send one."] for name in refused})
        data = QuoteRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        retry_after = new_request_retry_after(request)
        if retry_after:
            raise Throttled(wait=retry_after, detail="Too many quote requests from this address this hour.")
        try:
            if "configuration" in values:
                configuration = configuration_by_token(product=product, token=values["configuration"])
            else:
                configuration = configuration_save(
                    product=product, choices=values["choices"], source=Configuration.Source.API
                )
            quote = quote_request_create(
                configuration=configuration,
                name=values["name"],
                email=values["email"],
                phone=values["phone"],
                consent=values["consent"],
                ip=client_address(request) or None,
                site_url=request.build_absolute_uri("/"),
            )
        except DjangoValidationError as exc:
            raise ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
            ) from None
        share_url = request.build_absolute_uri(f"/configure/{product.slug}/c/{configuration.token}/")
        body = {
            "quote": quote.number,
            "status": quote.status,
            "configuration": configuration.token,
            "sku_code": configuration.sku_code,
            "total": configuration.total,
            "currency": configuration.currency,
            "lead_time_days": configuration.lead_time_days,
            "share_url": share_url,
        }
        return Response(QuoteRequestOutputSerializer(body).data, status=status.HTTP_201_CREATED)
