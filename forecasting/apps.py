from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"

    def ready(self) -> None:
        # Forecast runs: their policies, tasks (the run's job, its chunks, the nightly actuals), demo step
        # and the "Forecasts" menu entry.
        from forecasting import demo_runs, policies_runs, tasks_runs  # noqa: F401
        from forecasting.views_runs import register_ui

        register_ui()

        # The quota, adjustment and snapshot policies; the weekly snapshot task (Celery discovers only tasks.py);
        # the pipeline forecast's demo step (seed_demo discovers only demo.py).
        from forecasting import demo_pipeline, policies_pipeline, tasks_pipeline  # noqa: F401

        # Facts follow the sales ledger without orders importing forecasting (see docs/orders.md).
        from forecasting.facts import facts_apply, facts_rebuild
        from orders import ledger

        if facts_apply not in ledger.sales_listeners:
            ledger.sales_listeners.append(facts_apply)
        if facts_rebuild not in ledger.rebuild_listeners:
            ledger.rebuild_listeners.append(facts_rebuild)
