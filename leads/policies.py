"""Who may see and change leads, imports, pipelines and opportunities (see docs/permissions.md)."""

from leads.models import AssignmentRule, Lead, LeadImport, Opportunity, Pipeline, RelatedProductRule, Stage
from sfa.permissions import ADMIN_MANAGED, Policy, Scope, register, rule

ALL, TEAM, OWN, NONE = Scope.ALL, Scope.TEAM, Scope.OWN, Scope.NONE


WORKED = {
    "view": rule(OWN, TEAM, ALL),
    "add": rule(ALL, ALL, ALL),
    "change": rule(OWN, TEAM, ALL),
    "delete": rule(NONE, NONE, ALL),
}


@register
class LeadPolicy(Policy):
    """A rep works their own leads; managers their teams' and the unassigned queue (``assign``)."""

    model = Lead
    owner = "owner"
    rules = {**WORKED, "assign": rule(NONE, ALL, ALL), "convert": rule(OWN, TEAM, ALL)}

    def filter(self, actor, queryset, action="view"):
        # Whoever may assign leads sees and works the unassigned queue as well.
        scoped = super().filter(actor, queryset, action)
        if action in ("view", "change") and self.scope_for(actor, "assign") is not Scope.NONE:
            return scoped | queryset.filter(owner__isnull=True)
        return scoped

    def allows(self, actor, action, obj=None):
        if obj is not None and obj.owner_id is None and action in ("view", "change"):
            return self.scope_for(actor, "assign") is not Scope.NONE
        return super().allows(actor, action, obj)


@register
class OpportunityPolicy(Policy):
    model = Opportunity
    owner = "owner"
    rules = WORKED


@register
class LeadImportPolicy(Policy):
    """Importing purchased lists is for managers and admins; the importer and admins see an import."""

    model = LeadImport
    owner = "created_by"
    rules = {
        "view": rule(NONE, OWN, ALL),
        "add": rule(NONE, ALL, ALL),
        "change": rule(NONE, OWN, ALL),  # run, undo
        "delete": rule(NONE, NONE, ALL),
    }


@register
class PipelinePolicy(Policy):
    model = Pipeline
    owner = None
    rules = ADMIN_MANAGED


@register
class StagePolicy(Policy):
    model = Stage
    owner = None
    rules = ADMIN_MANAGED


@register
class AssignmentRulePolicy(Policy):
    model = AssignmentRule
    owner = None
    rules = ADMIN_MANAGED


@register
class RelatedProductRulePolicy(Policy):
    """Related-product rules hand work to reps company-wide: managers and admins keep them and run them;
    a manager deletes the rules they made (anyone's may be switched off)."""

    model = RelatedProductRule
    owner = "created_by"
    rules = {
        "view": rule(NONE, ALL, ALL),
        "add": rule(NONE, ALL, ALL),
        "change": rule(NONE, ALL, ALL),
        "delete": rule(NONE, OWN, ALL),
        "run": rule(NONE, ALL, ALL),
    }
