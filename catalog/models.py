"""Products and what reps need to know about them; price lists; configurable products and saved configurations.

A configurable product is never expanded into variants: it has attributes (each with values), rules
between values, and a saved ``Configuration`` is the chosen values plus the prices frozen at saving.
The validation and pricing engine that reads these rows is ``catalog.configurator``.
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

CURRENCY_VALIDATOR = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code in capitals, e.g. EUR.")
SKU_VALIDATOR = RegexValidator(r"^[A-Z0-9][A-Z0-9-]{0,39}$", "Capital letters, digits and dashes, e.g. AUR-100.")
# Value codes become parts of a derived SKU code, joined by "-" (attributes) and "." (values of a multi
# attribute); "_" marks an empty choice. Keeping those characters out of codes keeps the SKU unambiguous.
VALUE_CODE_VALIDATOR = RegexValidator(r"^[A-Z0-9]{1,12}$", "1 to 12 capital letters or digits, e.g. LTH.")
ATTRIBUTE_CODE_VALIDATOR = RegexValidator(r"^[a-z][a-z0-9_]{0,39}$", "Lower-case letters, digits and _, e.g. colour.")
COLOUR_VALIDATOR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour like #1f4e8c.")
MONEY = {"max_digits": 12, "decimal_places": 2}


def new_config_stamp() -> str:
    return secrets.token_hex(8)


class Category(models.Model):
    """A node of the product tree (Vehicles › Cars)."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name", "id"]
        verbose_name_plural = "categories"
        constraints = [models.CheckConstraint(condition=~Q(parent=F("id")), name="category_not_own_parent")]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """Something we sell. ``description`` is HTML sanitised on save (catalog.richtext), so it may be shown as is."""

    slug = models.SlugField(max_length=80, unique=True)
    sku = models.CharField("SKU", max_length=40, unique=True, validators=[SKU_VALIDATOR])
    name = models.CharField(max_length=150)
    name_key = models.CharField(max_length=150, editable=False, db_index=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    summary = models.CharField(max_length=300, blank=True, help_text="One line shown in lists and on the public page")
    description = models.TextField(blank=True, help_text="Rich text (HTML); scripts and styles are removed on save")
    specs = models.JSONField(default=list, blank=True, help_text='Specification table: [{"name": …, "value": …}]')
    competitor_notes = models.TextField(blank=True, help_text="For reps only: how we compare; never shown publicly")
    is_active = models.BooleanField(default=True)
    is_configurable = models.BooleanField(default=False)
    # Configurable products: option prices are in this currency; the base price is the current price in it.
    currency = models.CharField(max_length=3, default="EUR", validators=[CURRENCY_VALIDATOR])
    base_lead_time_days = models.PositiveSmallIntegerField(default=14, help_text="Delivery time without options")
    # Renewed by every service that changes what the configurator compiles (attributes, values, rules,
    # prices): the compiled model is cached under this stamp, so a change is seen at once. Random rather
    # than a counter, so that a reused primary key (a restored database, tests) never meets a stale entry.
    config_stamp = models.CharField(max_length=16, default=new_config_stamp, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name_key", "id"]
        indexes = [
            models.Index(fields=["name_key"], name="product_name_prefix_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["sku"], name="product_sku_prefix_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["category", "name_key"], name="product_category_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to="catalog/images/", max_length=200)
    content_type = models.CharField(max_length=40, editable=False)
    size = models.PositiveIntegerField(editable=False)
    alt = models.CharField("description for screen readers", max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.alt


class ProductDocument(models.Model):
    class Kind(models.TextChoices):
        DATASHEET = "datasheet", "Datasheet"
        MANUAL = "manual", "Manual"
        BROCHURE = "brochure", "Brochure"
        OTHER = "other", "Other"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(upload_to="catalog/documents/", max_length=200)
    content_type = models.CharField(max_length=40, editable=False)
    size = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=150)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.DATASHEET)

    class Meta:
        ordering = ["kind", "title", "id"]

    def __str__(self) -> str:
        return self.title


class ProductFaq(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="faqs")
    question = models.CharField(max_length=300)
    answer = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"

    def __str__(self) -> str:
        return self.question


class PriceList(models.Model):
    """Prices in one currency for a period. ``valid_to`` empty means open-ended; both ends are included."""

    name = models.CharField(max_length=100)
    code = models.SlugField(max_length=40, unique=True)
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["currency", "-valid_from", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")), name="pricelist_period_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class Price(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="prices")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        ordering = ["product", "price_list"]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="price_one_per_list"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product}: {self.amount} {self.price_list.currency}"


class RelatedProduct(models.Model):
    class Kind(models.TextChoices):
        ACCESSORY = "accessory", "Accessory"
        UPGRADE = "upgrade", "Upgrade"
        SUCCESSOR = "successor", "Successor"
        CONSUMABLE = "consumable", "Consumable"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="relations")
    related = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="related_to")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    note = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["kind", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "related", "kind"], name="related_product_unique"),
            models.CheckConstraint(condition=~Q(product=F("related")), name="related_product_not_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.product} → {self.get_kind_display().lower()} {self.related}"


# --- Configurable products --------------------------------------------------------------------------


class Attribute(models.Model):
    """One thing the customer chooses (colour, interior, width). ``step`` groups attributes into the page's steps."""

    class Kind(models.TextChoices):
        SWATCH = "swatch", "Colour swatches"
        RADIO = "radio", "Radio buttons"
        SELECT = "select", "Drop-down list"
        MULTI = "multi", "Several checkboxes"
        NUMBER = "number", "Number"
        TEXT = "text", "Short text"

    SINGLE_KINDS = (Kind.SWATCH, Kind.RADIO, Kind.SELECT)

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="attributes")
    code = models.CharField(max_length=40, validators=[ATTRIBUTE_CODE_VALIDATOR])
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    required = models.BooleanField(default=True)
    step = models.PositiveSmallIntegerField(default=1, help_text="Attributes with the same step are shown together")
    step_title = models.CharField(max_length=60, blank=True, help_text="Title of the step, e.g. Exterior")
    position = models.PositiveSmallIntegerField(default=0)
    help_text = models.CharField(max_length=200, blank=True)
    # Numbers: bounds, step and unit; each unit above the minimum costs ``unit_price``.
    min_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    max_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    step_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    default_number = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    unit = models.CharField(max_length=12, blank=True)
    unit_price = models.DecimalField(**MONEY, default=Decimal("0"))
    # Short text: its longest allowed length.
    max_length = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["step", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "code"], name="attribute_code_unique"),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True) | Q(max_value__isnull=True) | Q(max_value__gte=F("min_value")),
                name="attribute_bounds_ordered",
            ),
            models.CheckConstraint(
                condition=Q(step_value__isnull=True) | Q(step_value__gt=0), name="attribute_step_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_values(self) -> bool:
        return self.kind in (*self.SINGLE_KINDS, self.Kind.MULTI)


class AttributeValue(models.Model):
    attribute = models.ForeignKey(Attribute, on_delete=models.CASCADE, related_name="values")
    code = models.CharField(max_length=12, validators=[VALUE_CODE_VALIDATOR])
    label = models.CharField(max_length=80)
    colour = models.CharField(max_length=7, blank=True, validators=[COLOUR_VALIDATOR], help_text="Swatches: #rrggbb")
    price_extra = models.DecimalField(**MONEY, default=Decimal("0"))
    lead_time_extra_days = models.PositiveSmallIntegerField(default=0)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True, help_text="Withdrawn values disappear from the configurator")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["attribute", "code"], name="attribute_value_code_unique")]

    def __str__(self) -> str:
        return self.label


class ConfigRule(models.Model):
    """A rule between values of one product. ``conditions`` hold when every one of them is chosen.

    - excludes: with the conditions, none of ``targets`` may be chosen.
    - requires: with the conditions, at least one of ``targets`` must be chosen.
    - default: with the conditions, an attribute the customer has not chosen yet defaults to ``targets``.
    - price: with the conditions, ``amount`` is added to the price (negative for a discount).
    - quantity: with the conditions (or always, without any), ``target_attribute`` (several checkboxes:
      how many are ticked; a number: its value) must lie within ``min_value`` … ``max_value``.
    """

    class Kind(models.TextChoices):
        EXCLUDES = "excludes", "Excludes"
        REQUIRES = "requires", "Requires one of"
        DEFAULT = "default", "Conditional default"
        PRICE = "price", "Conditional price"
        QUANTITY = "quantity", "Quantity limit"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    conditions = models.ManyToManyField(AttributeValue, related_name="rules_as_condition", blank=True)
    targets = models.ManyToManyField(AttributeValue, related_name="rules_as_target", blank=True)
    target_attribute = models.ForeignKey(
        Attribute, on_delete=models.CASCADE, null=True, blank=True, related_name="quantity_rules"
    )
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    min_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    max_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    message = models.CharField(
        max_length=200, blank=True, help_text="What the customer reads; written from the rule when empty"
    )
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} rule #{self.pk}"


class Configuration(models.Model):
    """A set of chosen values with the prices frozen when it was saved, reopened by its share token."""

    class Source(models.TextChoices):
        PUBLIC = "public", "Public configurator"
        API = "api", "API"
        REP = "rep", "Sales rep"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="configurations")
    choices = models.JSONField(help_text="The normalised configuration: {attribute code: value code(s) or input}")
    explicit = models.JSONField(
        default=list, blank=True, help_text="The attributes the customer chose; the others followed their defaults"
    )
    price_breakdown = models.JSONField(help_text="[{label, amount, kind}] as computed when saved")
    total = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    lead_time_days = models.PositiveSmallIntegerField()
    sku_code = models.CharField("SKU code", max_length=400)
    token = models.CharField(max_length=43, unique=True, editable=False)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.PUBLIC)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["product", "-created_at"], name="configuration_product_idx")]

    def __str__(self) -> str:
        return f"{self.product} {self.sku_code}"
