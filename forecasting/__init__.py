"""Sales facts, forecast runs, quotas and manager dashboards (filled by the forecasting issue)."""
