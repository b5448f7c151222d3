"""The API's exception handler: DRF's, plus Django's ValidationError as a 400.

Services and selectors refuse bad input with Django's ``ValidationError`` (a filter that takes numbers
given words, a date out of range). Views that expect it translate it themselves; any that escapes a view
would otherwise be a 500. Here it becomes the same 400 with field messages that ``as_drf_error`` gives.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        from sfa.api.views import as_drf_error

        exc = as_drf_error(exc)
    return exception_handler(exc, context)
