"""Who may see and change accounts, contacts, touches and the outreach rules (see docs/permissions.md)."""

from contacts.models import (
    Account,
    Campaign,
    Contact,
    FollowUp,
    GuardLog,
    GuardRule,
    MatchCandidate,
    MatchingSettings,
    Merge,
    OutreachSettings,
    Purpose,
    Touch,
)
from sfa.permissions import ADMIN_MANAGED, Policy, Scope, register, rule

ALL, TEAM, OWN, NONE = Scope.ALL, Scope.TEAM, Scope.OWN, Scope.NONE


# Every internal user reads every customer and every touch: the company-wide timeline is the point.
CUSTOMER_RECORD = {
    "view": rule(ALL, ALL, ALL),
    "add": rule(ALL, ALL, ALL),
    "change": rule(OWN, TEAM, ALL),
    "delete": rule(NONE, NONE, ALL),
}


@register
class AccountPolicy(Policy):
    model = Account
    owner = "owner"
    rules = CUSTOMER_RECORD


@register
class ContactPolicy(Policy):
    model = Contact
    owner = "owner"
    rules = CUSTOMER_RECORD


@register
class TouchPolicy(Policy):
    """Anyone logs a touch on any customer; its author (and their managers) may edit or cancel it.

    ``override_block`` is the right to go ahead despite a guard rule in block mode.
    """

    model = Touch
    owner = "user"
    rules = {**CUSTOMER_RECORD, "override_block": rule(NONE, ALL, ALL)}


@register
class FollowUpPolicy(Policy):
    model = FollowUp
    owner = "assignee"
    rules = CUSTOMER_RECORD


@register
class CampaignPolicy(Policy):
    model = Campaign
    owner = "created_by"
    rules = CUSTOMER_RECORD


@register
class PurposePolicy(Policy):
    model = Purpose
    owner = None
    rules = ADMIN_MANAGED


@register
class GuardRulePolicy(Policy):
    model = GuardRule
    owner = None
    rules = ADMIN_MANAGED


@register
class OutreachSettingsPolicy(Policy):
    model = OutreachSettings
    owner = None
    rules = ADMIN_MANAGED


@register
class GuardLogPolicy(Policy):
    """The overrides and blocks report is for managers and admins; a rep sees their own entries."""

    model = GuardLog
    owner = "user"
    rules = {
        "view": rule(OWN, ALL, ALL),
        "report": rule(NONE, ALL, ALL),
        "add": rule(NONE, NONE, NONE),
        "change": rule(NONE, NONE, NONE),
        "delete": rule(NONE, NONE, NONE),
    }


@register
class MatchingSettingsPolicy(Policy):
    model = MatchingSettings
    owner = None
    rules = ADMIN_MANAGED


@register
class MatchCandidatePolicy(Policy):
    """Everyone sees the review queue; deciding a pair needs the right to change both records (services)."""

    model = MatchCandidate
    owner = None
    rules = {
        "view": rule(ALL, ALL, ALL),
        "add": rule(NONE, NONE, NONE),  # the engine adds pairs
        "change": rule(ALL, ALL, ALL),
        "delete": rule(NONE, NONE, NONE),
        "scan": rule(NONE, ALL, ALL),  # start a full scan of the database
    }


@register
class MergePolicy(Policy):
    """Merges are visible to all; merging and undoing need the right to change every record involved."""

    model = Merge
    owner = "by"
    rules = {
        "view": rule(ALL, ALL, ALL),
        "add": rule(ALL, ALL, ALL),
        "change": rule(ALL, ALL, ALL),  # undo
        "delete": rule(NONE, NONE, NONE),
    }
