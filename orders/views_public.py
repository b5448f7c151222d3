"""The public configurator's "request a quote" pages (no login).

Thin callers of ``orders.requests``. Like the configurator's own pages (``catalog.views``), every page is
rate limited per address, a POST that carries a price is refused, and a filled-in honeypot turns a bot
away. After the request the browser is sent to a confirmation address signed with the quote's id, so a
reload shows the confirmation again instead of posting a second request.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from catalog import ratelimit
from catalog import selectors as catalog_selectors
from catalog.forms import HONEYPOT_FIELD, posted_price_fields
from catalog.models import Configuration, Product
from catalog.ui import quote_request_url_register
from catalog.views import rate_limited
from orders.forms_public import QuoteRequestForm
from orders.models import Quote
from orders.requests import quote_request_context, quote_request_create
from sfa.auth import client_address
from sfa.views import add_form_errors

RECEIPT_SALT = "orders.quote-request.receipt"
RECEIPT_MAX_AGE = 7 * 24 * 3600  # seconds the confirmation address keeps working
# New requests per client address and hour, on top of the configurator's budget: each one writes a lead
# and sends an e-mail to the address typed in, which must not become a way to flood someone's inbox.
NEW_REQUESTS_PER_HOUR = 10


def _refused(request: HttpRequest, product: Product, message: str) -> HttpResponse:
    return render(request, "orders/public/refused.html", {"product": product, "message": message}, status=400)


def new_request_retry_after(request: HttpRequest) -> int:
    """0 while this address may send another request this hour, else the seconds until it may."""
    verdict = ratelimit.hit(request, scope="quote-request", rate=f"{NEW_REQUESTS_PER_HOUR}/hour")
    return 0 if verdict.allowed else verdict.retry_after


def _saved(slug: str, token: str) -> tuple[Product, Configuration]:
    product = catalog_selectors.public_product_get(slug=slug)
    return product, catalog_selectors.configuration_by_token(product=product, token=token)


@login_not_required
@require_http_methods(["GET", "POST"])
@rate_limited
def quote_request(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """The request form beside the saved configuration; a valid POST makes the request and shows its receipt."""
    product, configuration = _saved(slug, token)
    form = QuoteRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if posted_price_fields(request.POST):
            return _refused(
                request,
                product,
                "Prices are worked out by us: a quote request that sends its own price is refused. "
                "Your quote uses the price of your saved configuration.",
            )
        if request.POST.get(HONEYPOT_FIELD):
            return _refused(
                request,
                product,
                "We could not take this request. If you are a person, please reload the page and try again.",
            )
        status = 400
        if form.is_valid():
            retry_after = new_request_retry_after(request)
            if retry_after:
                response = render(request, "catalog/rate_limited.html", {"retry_after": retry_after}, status=429)
                response["Retry-After"] = str(retry_after)
                return response
            try:
                quote = quote_request_create(
                    configuration=configuration,
                    **form.cleaned_data,
                    ip=client_address(request) or None,
                    site_url=request.build_absolute_uri("/"),
                )
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                receipt = signing.dumps(quote.pk, salt=RECEIPT_SALT)
                return redirect(
                    "orders:quote-request-sent", slug=product.slug, token=configuration.token, receipt=receipt
                )
    context = {
        **quote_request_context(quote=None, configuration=configuration, site_url=request.build_absolute_uri("/")),
        "form": form,
        "honeypot": HONEYPOT_FIELD,
    }
    return render(request, "orders/public/quote_request.html", context, status=status)


@login_not_required
@require_GET
@rate_limited
def quote_request_sent(request: HttpRequest, slug: str, token: str, receipt: str) -> HttpResponse:
    """The confirmation: the quote's number, the configuration as quoted, and its share link."""
    _, configuration = _saved(slug, token)
    try:
        quote_id = signing.loads(receipt, salt=RECEIPT_SALT, max_age=RECEIPT_MAX_AGE)
    except signing.BadSignature:
        raise Http404(
            "This confirmation link is not valid (any more). If you sent a request, it was received: "
            "the confirmation e-mail has its number."
        ) from None
    quote = (
        Quote.objects.filter(pk=quote_id, source=Quote.Source.CONFIGURATOR, lines__configuration=configuration)
        .distinct()
        .first()
    )
    if quote is None:
        raise Http404("There is no quote request for this configuration at this address.")
    context = quote_request_context(quote=quote, configuration=configuration, site_url=request.build_absolute_uri("/"))
    return render(request, "orders/public/quote_request_sent.html", context)


def _quote_request_url(configuration: Configuration) -> str:
    return reverse("orders:quote-request", kwargs={"slug": configuration.product.slug, "token": configuration.token})


def quote_request_button_register() -> None:
    """Show "Request a quote" in the public configurator (called once from ``OrdersConfig.ready``)."""
    quote_request_url_register(_quote_request_url)


public_urlpatterns = [
    path("configure/<slug:slug>/c/<str:token>/quote/", quote_request, name="quote-request"),
    path(
        "configure/<slug:slug>/c/<str:token>/quote/sent/<str:receipt>/", quote_request_sent, name="quote-request-sent"
    ),
]
