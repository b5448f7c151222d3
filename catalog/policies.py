"""Who may see and change the catalog (see docs/permissions.md).

Every internal user reads the whole catalog (a rep must know what they sell); product managers are
admins: they alone add and change products, prices and the configurator's attributes, values and rules.
Anonymous visitors reach no catalog record through these policies: the public configurator shows a
published configurable product through ``catalog.selectors.public_product_get`` (its public fields only)
and saves a configuration through ``catalog.services.configuration_save`` as a trusted caller.
"""

from catalog.models import (
    Attribute,
    AttributeValue,
    Category,
    ConfigRule,
    Configuration,
    Price,
    PriceList,
    Product,
    ProductDocument,
    ProductFaq,
    ProductImage,
    RelatedProduct,
)
from sfa.permissions import ADMIN_MANAGED, Policy, Scope, register, rule

ALL, NONE = Scope.ALL, Scope.NONE

# Product managers are admins: everyone inside reads the catalog, admins write it.
PRODUCT_MANAGED = ADMIN_MANAGED


@register
class CategoryPolicy(Policy):
    model = Category
    owner = None
    rules = PRODUCT_MANAGED


@register
class ProductPolicy(Policy):
    model = Product
    owner = None
    rules = PRODUCT_MANAGED


@register
class ProductImagePolicy(Policy):
    model = ProductImage
    owner = None
    rules = PRODUCT_MANAGED


@register
class ProductDocumentPolicy(Policy):
    model = ProductDocument
    owner = None
    rules = PRODUCT_MANAGED


@register
class ProductFaqPolicy(Policy):
    model = ProductFaq
    owner = None
    rules = PRODUCT_MANAGED


@register
class PriceListPolicy(Policy):
    model = PriceList
    owner = None
    rules = PRODUCT_MANAGED


@register
class PricePolicy(Policy):
    model = Price
    owner = None
    rules = PRODUCT_MANAGED


@register
class RelatedProductPolicy(Policy):
    model = RelatedProduct
    owner = None
    rules = PRODUCT_MANAGED


@register
class AttributePolicy(Policy):
    model = Attribute
    owner = None
    rules = PRODUCT_MANAGED


@register
class AttributeValuePolicy(Policy):
    model = AttributeValue
    owner = None
    rules = PRODUCT_MANAGED


@register
class ConfigRulePolicy(Policy):
    model = ConfigRule
    owner = None
    rules = PRODUCT_MANAGED


@register
class ConfigurationPolicy(Policy):
    """Saved configurations are frozen: nobody changes one; every internal user reads them (leads, quotes)."""

    model = Configuration
    owner = "created_by"
    rules = {
        "view": rule(ALL, ALL, ALL),
        "add": rule(ALL, ALL, ALL),
        "change": rule(NONE, NONE, NONE),
        "delete": rule(NONE, NONE, ALL),
    }
