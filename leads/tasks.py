"""Periodic lead jobs: retrain the scoring model on the conversions so far."""

from celery import shared_task

import leads.services_related  # noqa: F401  (registers the related_rule_run job for the worker)
from leads import imports  # noqa: F401  (registers the lead_import and lead_import_check jobs for the worker)
from leads.services import scoring_retrain


@shared_task(name="leads.scoring_retrain")
def retrain_scoring() -> str:
    model = scoring_retrain()
    return model.version if model else "not enough history: the rules fallback keeps scoring"
