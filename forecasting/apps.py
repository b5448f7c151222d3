from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"

    def ready(self) -> None:
        # Facts follow the sales ledger without orders importing forecasting (see docs/orders.md).
        from forecasting.facts import facts_apply, facts_rebuild
        from orders import ledger

        if facts_apply not in ledger.sales_listeners:
            ledger.sales_listeners.append(facts_apply)
        if facts_rebuild not in ledger.rebuild_listeners:
            ledger.rebuild_listeners.append(facts_rebuild)
