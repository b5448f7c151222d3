from orders import views, views_import, views_public

app_name = "orders"

# Each module owns its pages and lists its own patterns.
urlpatterns = [
    *views.staff_urlpatterns,  # quotes, orders, stock, fulfilment, settings
    *views_import.import_urlpatterns,  # historical order imports
    *views_public.public_urlpatterns,  # the configurator's quote request (no login)
]
