from orders import views

app_name = "orders"

urlpatterns = [
    # Staff pages (quotes, orders, stock, fulfilment): see orders.views.
    *views.staff_urlpatterns,
    # Public pages (the configurator's quote request): see orders.views_public.
    # --- public urls: start ---
    # --- public urls: end ---
]
