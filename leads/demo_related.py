"""Demo related-product rules: written, not run (a manager previews and runs them on the rules page, once
the demo orders give them customers to find)."""

from __future__ import annotations

from sfa.demo import DemoContext

RULES = [
    # name, product to offer, catalog relations that make A, products bought by hand, months, purpose, action
    ("Roof box for Aurora drivers", "roof-box-420", ["accessory"], [], 12, "Cross-sell", "lead"),
    (
        "FlexDesk Basic 2 for FlexDesk Basic accounts",
        "flexdesk-basic-2",
        ["successor"],
        [],
        24,
        "Cross-sell",
        "opportunity",
    ),
]


def demo_related_rules(ctx: DemoContext) -> None:
    from catalog.models import Product
    from contacts.models import Purpose
    from leads.models import RelatedProductRule
    from leads.services_related import rule_create
    from sfa.models import User

    author = ctx.users.get("manager") or User.objects.filter(username="manager").first()
    if author is None:
        ctx.log("related-product rules: no demo manager, skipped")
        return
    made = 0
    for name, offer, kinds, bought, months, purpose, action in RULES:
        if RelatedProductRule.objects.filter(name=name).exists():
            continue
        product = Product.objects.filter(slug=offer).first()
        found_purpose = Purpose.objects.filter(name=purpose).first()
        if product is None or found_purpose is None:
            ctx.log(f"related-product rules: {offer} or {purpose} is missing, {name!r} skipped")
            continue
        rule_create(
            actor=author,
            data={
                "name": name,
                "offer_product": product,
                "relation_kinds": kinds,
                "bought_products": list(Product.objects.filter(slug__in=bought)),
                "within_months": months,
                "purpose": found_purpose,
                "action": action,
            },
        )
        made += 1
    ctx.log(f"related-product rules: {made} written ({RelatedProductRule.objects.count()} in all), not run")
