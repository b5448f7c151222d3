"""Commission jobs: the statement computation (a Job users watch) and its monthly schedule.

Thin: they call ``commissions.services``, which is safe to run twice (drafts are recomputed, approved
statements stay as they are).
"""

from datetime import date

from celery import shared_task
from django.utils import timezone

from commissions import calculator, services
from sfa.jobs import JobError, JobRun, job_start, job_task
from sfa.models import User


@job_task(kind=services.JOB_KIND)
def statements_compute_job(run: JobRun) -> dict:
    """Compute the statements of the job's months (params ``first``, ``last``, optional ``rep_ids``) as the user
    who started it may; resumes after the last rep and month done."""
    actor = None
    if run.job.started_by_id is not None:
        actor = User.objects.filter(pk=run.job.started_by_id, is_active=True).first()
        if actor is None:
            raise JobError("The user who started this job no longer exists or is inactive.")
    first = date.fromisoformat(run.params["first"])
    last = date.fromisoformat(run.params["last"])
    counts = services.statements_compute(
        first=first,
        last=last,
        actor=actor,
        rep_ids=run.params.get("rep_ids"),
        job=run.job,
        progress=run.progress,
        done=run.state.get("done", 0),
    )
    months = len(calculator.months_between(first, last))
    return {
        "message": f"{counts['computed']} statements computed, {counts['locked']} approved ones kept "
        f"({months} month{'s' if months != 1 else ''})",
        **counts,
    }


@shared_task(name="commissions.compute_monthly")
def compute_monthly() -> str:
    """On the first of the month: compute last month (for approval) and open the new one."""
    today = timezone.localdate()
    this_month = calculator.month_start(today)
    job = job_start(
        kind=services.JOB_KIND,
        title=f"Monthly commission statements {calculator.month_add(this_month, -1):%b %Y}",
        actor=None,
        params={"first": calculator.month_add(this_month, -1).isoformat(), "last": this_month.isoformat()},
    )
    return str(job.pk)
