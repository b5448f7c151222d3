"""Lead scores 0-100 from fit and behaviour, with their top reasons.

A logistic regression (statsmodels) trained on past leads that were converted or disqualified gives the
score when there is enough history; until then, and whenever the fitted model is unusable, a rules
fallback with the same features does. The features are cheap to compute for one lead or many.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

FEATURES = (
    "has_email",
    "has_phone",
    "has_company",
    "has_address",
    "interests",
    "source_inbound",
    "source_list",
    "touches_in",
    "touches_out",
    "configurator",
)
LABELS = {
    "has_email": "has an e-mail address",
    "has_phone": "has a phone number",
    "has_company": "works for a company",
    "has_address": "full address known",
    "interests": "interests match the catalog",
    "source_inbound": "came to us (web, configurator, referral)",
    "source_list": "from a purchased list",
    "touches_in": "contacted us",
    "touches_out": "we reached them",
    "configurator": "built a product online",
}
# The rules fallback: points per feature (capped at 100), set by sales ops' judgement.
RULE_POINTS = {
    "has_email": 10,
    "has_phone": 10,
    "has_company": 10,
    "has_address": 5,
    "interests": 8,
    "source_inbound": 20,
    "source_list": -5,
    "touches_in": 12,
    "touches_out": 4,
    "configurator": 15,
}
MIN_CLASS = 30  # converted and disqualified leads needed, each, before the trained model is used


def features(lead) -> dict[str, float]:
    contact = lead.contact
    return feature_values(
        has_email=contact.emails.exists(),
        has_phone=contact.phones.exists(),
        has_company=bool(lead.company or contact.account_id),
        has_address=bool(contact.street and contact.city),
        interests=lead.interests or [],
        source=lead.source,
        touches=list(contact.touches.values_list("direction", "channel")[:TOUCHES_READ]),
    )


TOUCHES_READ = 50  # the latest touches of a person that count


def feature_values(
    *,
    has_email: bool,
    has_phone: bool,
    has_company: bool,
    has_address: bool,
    interests: list[str],
    source: str,
    touches: list[tuple[str, str]],
) -> dict[str, float]:
    """The model's inputs from what is known of a lead; ``touches`` are (direction, channel), newest first.

    ``features`` reads them for one lead; the list import computes them for a whole chunk from what it has
    loaded, through this same function, so both score alike.
    """
    return {
        "has_email": float(has_email),
        "has_phone": float(has_phone),
        "has_company": float(has_company),
        "has_address": float(has_address),
        "interests": float(min(len(interests), 3)),
        "source_inbound": float(source in ("web_form", "configurator", "referral", "event")),
        "source_list": float(source == "purchased_list"),
        "touches_in": float(min(sum(1 for d, _ in touches if d == "in"), 5)),
        "touches_out": float(min(sum(1 for d, _ in touches if d == "out"), 5)),
        "configurator": float(source == "configurator" or any(c == "web" for _, c in touches)),
    }


def active_model() -> dict[str, Any] | None:
    """The active trained model as ``score`` takes it, or None (the rules score)."""
    from leads.models import ScoringModel

    model = ScoringModel.objects.filter(is_active=True).first()
    return {"version": model.version, "coefficients": model.coefficients} if model else None


def score(x: dict[str, float], model: dict[str, Any] | None) -> Score:
    """The trained model's score when there is an active one, else the rules'."""
    return score_with_model(x, model) if model else score_with_rules(x)


@dataclass
class Score:
    value: int
    reasons: list[str]
    model: str


def score_with_rules(x: dict[str, float]) -> Score:
    contributions = {name: RULE_POINTS[name] * x[name] for name in FEATURES}
    value = max(0, min(100, round(20 + sum(contributions.values()))))
    return Score(value, _top_reasons(contributions), "rules")


def score_with_model(x: dict[str, float], model: dict[str, Any]) -> Score:
    coefficients = model["coefficients"]
    contributions = {name: coefficients.get(name, 0.0) * x[name] for name in FEATURES}
    logit = coefficients.get("const", 0.0) + sum(contributions.values())
    probability = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))
    return Score(round(100 * probability), _top_reasons(contributions), model["version"])


def _top_reasons(contributions: dict[str, float]) -> list[str]:
    ranked = sorted((c for c in contributions.items() if c[1]), key=lambda kv: -abs(kv[1]))[:3]
    return [("+ " if value > 0 else "− ") + LABELS[name] for name, value in ranked]


def train(samples: list[tuple[dict[str, float], int]]) -> dict[str, Any] | None:
    """Fit the logistic regression on (features, converted) samples; None when history is too short."""
    positives = sum(y for _, y in samples)
    if positives < MIN_CLASS or len(samples) - positives < MIN_CLASS:
        return None
    import numpy as np
    import statsmodels.api as sm

    X = np.array([[x[name] for name in FEATURES] for x, _ in samples])
    y = np.array([label for _, label in samples])
    keep = X.std(axis=0) > 0  # a feature that never varies cannot be estimated
    names = [name for name, k in zip(FEATURES, keep, strict=True) if k]
    design = sm.add_constant(X[:, keep], has_constant="add")
    # A ridge-penalised logistic regression (GLM, binomial): it stays finite when features are collinear or
    # separate the classes perfectly, which small CRM histories often do.
    try:
        fitted = sm.GLM(y, design, family=sm.families.Binomial()).fit_regularized(alpha=0.02, L1_wt=0.0)
    except (np.linalg.LinAlgError, ValueError):
        return None
    params = [float(p) for p in fitted.params]
    if not all(math.isfinite(p) for p in params):
        return None
    predictions = fitted.predict(design)
    accuracy = float(((predictions >= 0.5) == (y == 1)).mean())
    return {
        "version": f"logit-{timezone.now():%Y%m%d%H%M}",
        "coefficients": {"const": params[0], **dict(zip(names, params[1:], strict=True))},
        "samples": len(samples),
        "converted": positives,
        "accuracy": round(accuracy, 3),
    }
