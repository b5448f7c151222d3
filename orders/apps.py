from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders and fulfilment"

    def ready(self) -> None:
        from orders import policies  # noqa: F401  (registers the policies)
