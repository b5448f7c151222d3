"""The duplicate check of every entry path, the review queue's decisions, and the full scan.

Entry paths call ``contact_duplicates_check`` before creating a person (and ``account_duplicates_check``
for a company): it raises ``DuplicateWarning`` (the caller may go ahead with ``allow_duplicate``) or
``DuplicateBlocked`` (block mode and a sure match: use the existing record). Pairs that need a person's
eye land in the review queue through ``candidates_record``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from contacts.matching.engine import LINK, REVIEW, Match, contact_candidates, contacts_by_id
from contacts.matching.score import PersonRecord, compare
from contacts.models import Account, Contact, MatchCandidate, MatchingSettings
from sfa.models import User
from sfa.permissions import require
from sfa.services import model_create, model_update


class DuplicateWarning(Exception):
    def __init__(self, candidates: list[Match], subject: str = "contact"):
        super().__init__(f"{len(candidates)} existing {subject}(s) may be the same.")
        self.candidates = candidates
        self.subject = subject


class DuplicateBlocked(DuplicateWarning):
    pass


def matching_settings() -> MatchingSettings:
    return MatchingSettings.objects.first() or MatchingSettings()


def matching_settings_update(*, actor: User, contact_mode: str, account_mode: str) -> MatchingSettings:
    """Warn or block, per object type, when a new record is a sure duplicate of an existing one (admins)."""
    require(actor, "change", MatchingSettings)
    for name, mode in (("contact_mode", contact_mode), ("account_mode", account_mode)):
        if mode not in MatchingSettings.Mode.values:
            raise ValidationError({name: f"Choose warn or block, not {mode!r}."})
    current = MatchingSettings.objects.first() or model_create(model=MatchingSettings, actor=actor, data={})
    model_update(instance=current, actor=actor, data={"contact_mode": contact_mode, "account_mode": account_mode})
    return current


def _judge(candidates: list[Match], mode: str, allow_duplicate: bool, subject: str) -> None:
    if not candidates:
        return
    if mode == MatchingSettings.Mode.BLOCK and candidates[0].score >= LINK:
        raise DuplicateBlocked([c for c in candidates if c.score >= LINK], subject)
    if not allow_duplicate:
        raise DuplicateWarning(candidates, subject)


def contact_duplicates_check(
    record: PersonRecord, *, allow_duplicate: bool = False, exclude: Iterable[int] = ()
) -> list[Match]:
    """Candidates for a person about to be created; raises unless the caller may go ahead."""
    candidates = contact_candidates(record, exclude=exclude)
    _judge(candidates, matching_settings().contact_mode, allow_duplicate, "contact")
    return candidates


def account_duplicates_check(
    name: str, city: str = "", domain: str = "", *, allow_duplicate: bool = False
) -> list[Match]:
    from contacts.matching.engine import account_candidates

    candidates = account_candidates(name, city, domain)
    _judge(candidates, matching_settings().account_mode, allow_duplicate, "account")
    return candidates


def candidates_record(*, subject: str, object_id: int, matches: Iterable[Match], source: str) -> int:
    """Put pairs in the review queue (score ≥ REVIEW); pairs already decided stay decided. Returns how many."""
    count = 0
    for match in matches:
        if match.score < REVIEW or match.id == object_id:
            continue
        a, b = sorted((int(object_id), int(match.id)))
        pair, created = MatchCandidate.objects.get_or_create(
            subject=subject,
            a_id=a,
            b_id=b,
            defaults={"score": match.score, "reasons": match.reasons, "source": source},
        )
        if not created and pair.status == MatchCandidate.Status.OPEN and abs(pair.score - match.score) > 1e-6:
            MatchCandidate.objects.filter(pk=pair.pk).update(score=match.score, reasons=match.reasons)
        count += created
    return count


@transaction.atomic
def candidate_dismiss(*, candidate: MatchCandidate, actor: User) -> MatchCandidate:
    """'Not a duplicate': remembered, so the pair is never proposed again. Needs the right to change both."""
    model = Contact if candidate.subject == "contact" else Account
    for obj in model.objects.filter(pk__in=[candidate.a_id, candidate.b_id]):
        require(actor, "change", obj)
    if candidate.status != MatchCandidate.Status.OPEN:
        raise ValidationError(f"This pair is already {candidate.get_status_display().lower()}.")
    candidate.status, candidate.decided_by, candidate.decided_at = (
        MatchCandidate.Status.NOT_DUPLICATE,
        actor,
        timezone.now(),
    )
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return candidate


def contacts_scan(*, progress=None, start_after: tuple[int, int] = (0, 0), batch: int = 5000) -> dict[str, int]:
    """Compare every pair of contacts that share a blocking key (never all pairs) and queue the likely ones.

    Pairs come from one self-join of the key table, in (a, b) order, so a resumed scan starts after the
    last pair it finished (``start_after``). ``progress(done, total, last_pair)`` is called per batch.
    """
    from contacts.matching.engine import MAX_BLOCK

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT key FROM contacts_matchkey WHERE subject = 'contact' "
            "GROUP BY key HAVING COUNT(*) BETWEEN 2 AND %s) blocks",
            [MAX_BLOCK],
        )
        total_blocks = cursor.fetchone()[0]
    sql = (
        "SELECT DISTINCT m1.object_id, m2.object_id FROM contacts_matchkey m1 "
        "JOIN contacts_matchkey m2 ON m2.subject = m1.subject AND m2.key = m1.key AND m2.object_id > m1.object_id "
        "WHERE m1.subject = 'contact' AND m1.key IN (SELECT key FROM contacts_matchkey WHERE subject = 'contact' "
        "GROUP BY key HAVING COUNT(*) BETWEEN 2 AND %s) "
        "AND (m1.object_id > %s OR (m1.object_id = %s AND m2.object_id > %s)) "
        "ORDER BY m1.object_id, m2.object_id"
    )
    decided = set(
        MatchCandidate.objects.filter(subject="contact")
        .exclude(status=MatchCandidate.Status.OPEN)
        .values_list("a_id", "b_id")
    )
    counts = {
        "pairs": 0,
        "queued": 0,
        "blocks": total_blocks,
        "max_id": Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, [MAX_BLOCK, start_after[0], start_after[0], start_after[1]])
        while True:
            pairs = [tuple(p) for p in cursor.fetchmany(batch)]
            if not pairs:
                break
            records = contacts_by_id({i for p in pairs for i in p})
            new = []
            for a, b in pairs:
                if (a, b) in decided or a not in records or b not in records:
                    continue
                evidence = compare(records[a], records[b])
                if evidence.score >= REVIEW:
                    new.append(
                        MatchCandidate(
                            subject="contact",
                            a_id=a,
                            b_id=b,
                            score=evidence.score,
                            reasons=evidence.reasons,
                            source=MatchCandidate.Source.SCAN,
                        )
                    )
            MatchCandidate.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
            counts["pairs"] += len(pairs)
            counts["queued"] += len(new)
            if progress:
                progress(counts, pairs[-1])
    return counts


def duplicates_scan_start(*, actor: User | None, rebuild_keys: bool = False):
    """Queue a full scan as a background job (the review queue fills as it runs).

    ``actor`` None is the nightly beat job; users need the policy's ``scan`` right (managers, admins).
    """
    from sfa.jobs import job_start

    if actor is not None:
        require(actor, "scan", MatchCandidate)

    return job_start(
        kind="duplicates_scan",
        title="Duplicate scan of all contacts",
        actor=actor,
        params={"rebuild_keys": rebuild_keys},
    )


def duplicates_scan_run(run) -> dict:
    """The scan job's body: optional key rebuild (checkpointed), then the pair scan (checkpointed)."""
    from contacts.matching.engine import contact_keys_refresh

    if run.params.get("rebuild_keys") and not run.state.get("keys_done"):
        ids = list(Contact.objects.filter(merged_into__isnull=True).order_by("pk").values_list("pk", flat=True))
        start = run.state.get("keys_after", 0)
        todo = [i for i in ids if i > start]
        for offset in range(0, len(todo), 5000):
            chunk = todo[offset : offset + 5000]
            contact_keys_refresh(chunk)
            run.progress(
                30 * (len(ids) - len(todo) + offset + len(chunk)) / max(len(ids), 1),
                f"Blocking keys: {offset + len(chunk):,} of {len(todo):,} contacts",
                keys_after=chunk[-1],
            )
        run.progress(30, "Blocking keys ready", keys_done=True)
    base = 30 if run.params.get("rebuild_keys") else 0

    def report(counts, last_pair):
        share = last_pair[0] / max(counts["max_id"], 1)
        run.progress(
            base + (100 - base) * share * 0.99,
            f"{counts['pairs']:,} pairs compared, {counts['queued']:,} queued for review",
            last_pair=list(last_pair),
            queued=run.state.get("queued", 0) + counts["queued"],
        )

    counts = contacts_scan(progress=report, start_after=tuple(run.state.get("last_pair", (0, 0))))
    queued = MatchCandidate.objects.filter(subject="contact", status=MatchCandidate.Status.OPEN).count()
    return {
        "message": f"{counts['pairs']:,} pairs compared; {queued:,} pairs wait for review",
        "pairs": counts["pairs"],
        "open": queued,
        "result_url": "/duplicates/",
    }
