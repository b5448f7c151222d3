"""Which rep gets a new lead: the first active assignment rule that matches, then round-robin or
least-loaded among the rule's team's reps.

One ``Assigner`` serves a single lead (``leads.services.lead_assign``) and a whole import chunk
(``leads.imports``): it reads the rules, their teams' reps and (when a least-loaded rule needs it) the
open-lead load once, keeps round-robin positions in memory, and ``save()`` writes them back.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count

from leads.models import AssignmentRule, Lead
from sfa.models import Role, User


class Assigner:
    def __init__(self) -> None:
        self.rules = list(AssignmentRule.objects.filter(is_active=True).order_by("order", "id"))
        team_ids = {rule.team_id for rule in self.rules}
        self.reps: dict[int, list[User]] = defaultdict(list)
        for user in User.objects.filter(team_id__in=team_ids, is_active=True, role=Role.REP).order_by("pk"):
            self.reps[user.team_id].append(user)
        self.last = {rule.pk: rule.last_assigned_id for rule in self.rules}
        self.changed: set[int] = set()
        self.load: dict[int, int] | None = None

    def pick(
        self, *, country: str, region: str, postcode: str, interests: list[str], source: str
    ) -> tuple[AssignmentRule | None, User | None]:
        """The rule that matched and the rep it chose, or (None, None): the lead stays unassigned."""
        for rule in self.rules:
            if not _matches(rule, country, region, postcode, interests, source):
                continue
            reps = self.reps.get(rule.team_id)
            if not reps:
                continue
            if rule.method == AssignmentRule.Method.LEAST_LOADED:
                load = self._load()
                chosen = min(reps, key=lambda u: (load.get(u.pk, 0), u.pk))
            else:
                last = self.last.get(rule.pk)
                after = [u for u in reps if last and u.pk > last]
                chosen = (after or reps)[0]
                self.last[rule.pk] = chosen.pk
                self.changed.add(rule.pk)
            if self.load is not None:
                self.load[chosen.pk] = self.load.get(chosen.pk, 0) + 1
            return rule, chosen
        return None, None

    def _load(self) -> dict[int, int]:
        if self.load is None:
            rep_ids = [u.pk for reps in self.reps.values() for u in reps]
            self.load = dict(
                Lead.objects.filter(owner_id__in=rep_ids, status__in=[Lead.Status.NEW, Lead.Status.WORKING])
                .values_list("owner")
                .annotate(n=Count("id"))
            )
        return self.load

    def save(self) -> None:
        """Store the round-robin positions moved since the last save."""
        for rule_id in self.changed:
            AssignmentRule.objects.filter(pk=rule_id).update(last_assigned_id=self.last[rule_id])
        self.changed.clear()


def _matches(rule: AssignmentRule, country: str, region: str, postcode: str, interests: list[str], source: str) -> bool:
    return not (
        (rule.country and rule.country.upper() != (country or "").upper())
        or (rule.region and rule.region.lower() != (region or "").lower())
        or (rule.postcode_prefix and not (postcode or "").startswith(rule.postcode_prefix))
        or (rule.interest and rule.interest.lower() not in (interests or []))
        or (rule.source and rule.source != source)
    )
