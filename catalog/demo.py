"""Demo catalog: categories, about thirty products with specifications, prices in EUR and GBP, related
products, FAQ and competitor notes; and three configurable products (a car, an e-bike, an office desk)
with the rules a real maker would have. Idempotent: rows are found by slug, SKU or code first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sfa.demo import DemoContext, demo_step

CATEGORIES = [
    # slug, name, parent slug
    ("vehicles", "Vehicles", None),
    ("cars", "Cars", "vehicles"),
    ("car-accessories", "Car accessories", "vehicles"),
    ("e-bikes", "E-bikes", None),
    ("bikes", "Bikes", "e-bikes"),
    ("bike-accessories", "Bike accessories", "e-bikes"),
    ("office", "Office furniture", None),
    ("desks", "Desks", "office"),
    ("chairs", "Chairs", "office"),
    ("storage", "Storage", "office"),
    ("services", "Services and consumables", None),
]
PRICE_LISTS = [
    # code, name, currency, valid from, valid to
    ("retail-eur-2025", "Retail EUR 2025", "EUR", date(2025, 1, 1), date(2025, 12, 31)),
    ("retail-eur", "Retail EUR", "EUR", date(2026, 1, 1), None),
    ("retail-gbp", "Retail GBP", "GBP", date(2026, 1, 1), None),
]
# slug, SKU, name, category, EUR, GBP, summary, specs
PRODUCTS = [
    ("aurora", "AUR", "Aurora", "cars", "32900", "28900", "The family car in three lengths, hybrid or electric.",
     [("Seats", "5"), ("Boot", "430–610 l"), ("Warranty", "5 years / 150,000 km")]),
    ("roof-box-420", "ACC-RB420", "Roof box 420 l", "car-accessories", "649", "569", "Lockable, opens on both sides.",
     [("Volume", "420 l"), ("Weight", "16 kg"), ("Max load", "75 kg")]),
    ("bike-carrier-3", "ACC-BC3", "Towbar bike carrier (3 bikes)", "car-accessories", "589", "515",
     "Tilts away so the boot still opens.", [("Bikes", "3 (4 with extension)"), ("Max load", "60 kg")]),
    ("winter-wheels-17", "ACC-WW17", "Winter wheel set 17\"", "car-accessories", "1290", "1130",
     "Four complete wheels with sensors.", [("Size", "205/60 R17"), ("Rims", "steel, black")]),
    ("floor-mats", "ACC-MAT", "All-weather floor mats", "car-accessories", "119", "105", "Raised edges, easy to clean.",
     [("Pieces", "4"), ("Material", "TPE, recyclable")]),
    ("charging-cable", "ACC-CC22", "Type 2 charging cable, 22 kW", "car-accessories", "289", "255",
     "For public chargers and wallboxes.", [("Length", "7.5 m"), ("Power", "22 kW, three-phase")]),
    ("wallbox-11", "WB-11", "Home wallbox 11 kW", "car-accessories", "899", "789", "Charges the Aurora EV overnight.",
     [("Power", "11 kW"), ("Cable", "fixed, 6 m"), ("App", "yes")]),
    ("volt-trek", "VTK", "Volt Trek", "bikes", "3490", "3050", "Trekking e-bike for commutes and weekends.",
     [("Motor", "mid-drive"), ("Gears", "10"), ("Weight", "from 24 kg")]),
    ("volt-city", "VCT", "Volt City", "bikes", "2490", "2190", "Light city e-bike with hub motor and belt drive.",
     [("Motor", "rear hub, 45 Nm"), ("Battery", "400 Wh"), ("Weight", "19.5 kg")]),
    ("helmet-urban", "BA-HLM", "Urban helmet with light", "bike-accessories", "89", "79", "MIPS, rear LED.",
     [("Sizes", "S, M, L"), ("Weight", "390 g")]),
    ("battery-625", "BA-B625", "Spare battery 625 Wh", "bike-accessories", "749", "659", "Fits every Volt Trek.",
     [("Capacity", "625 Wh"), ("Charge time", "4.5 h")]),
    ("folding-lock", "BA-LCK", "Folding lock", "bike-accessories", "79", "69", "Security level 10 of 15.",
     [("Length", "85 cm"), ("Weight", "1.1 kg")]),
    ("panniers", "BA-PAN", "Waterproof panniers (pair)", "bike-accessories", "129", "115", "2 × 20 l, click-on.",
     [("Volume", "2 × 20 l"), ("Waterproof", "IP64")]),
    ("flexdesk", "FDP", "FlexDesk Pro", "desks", "549", "479", "Height-adjustable desk, made to your size.",
     [("Height", "62–127 cm"), ("Load", "up to 120 kg"), ("Warranty", "10 years frame")]),
    ("flexdesk-basic", "FDB", "FlexDesk Basic", "desks", "389", "339", "The simple sit-stand desk, 140 × 70 cm.",
     [("Height", "72–120 cm"), ("Load", "70 kg")]),
    ("flexdesk-basic-2", "FDB2", "FlexDesk Basic 2", "desks", "399", "349", "Quieter motor, memory presets.",
     [("Height", "65–125 cm"), ("Load", "90 kg"), ("Presets", "4")]),
    ("ergochair", "ECH", "ErgoChair", "chairs", "429", "375", "Synchronous mechanism, lumbar support.",
     [("Seat height", "42–54 cm"), ("Armrests", "2D")]),
    ("ergochair-plus", "ECH-P", "ErgoChair Plus", "chairs", "649", "569", "Adds 4D armrests and a headrest.",
     [("Seat height", "42–55 cm"), ("Armrests", "4D"), ("Headrest", "yes")]),
    ("drawer-unit", "STO-DRW", "Mobile drawer unit", "storage", "249", "219", "Three drawers, lockable.",
     [("Drawers", "3"), ("Castors", "5")]),
    ("shelf-5", "STO-SH5", "Office shelf, 5 levels", "storage", "319", "279", "Steel frame, oak shelves.",
     [("Height", "185 cm"), ("Width", "80 cm")]),
    ("monitor-arm", "ACC-MON", "Monitor arm, dual", "storage", "149", "129", "Gas spring, up to 2 × 9 kg.",
     [("Screens", "2 × up to 32\""), ("VESA", "75/100")]),
    ("service-plan-car", "SRV-CAR3", "Car service plan, 3 years", "services", "990", "870",
     "Every inspection and wear part for three years.", [("Term", "36 months"), ("Mileage", "up to 45,000 km")]),
    ("wallbox-installation", "SRV-WBI", "Wallbox installation", "services", "690", "610",
     "Certified electrician, up to 10 m of cable.", [("Includes", "site check, fitting, commissioning")]),
    ("bike-service", "SRV-BIKE", "E-bike annual service", "services", "149", "129", "Check, adjust, firmware update.",
     [("Duration", "one working day")]),
    ("chain-lube", "CON-LUBE", "Chain lube, 100 ml", "services", "12", "10", "Wet conditions formula.",
     [("Volume", "100 ml")]),
    ("brake-pads", "CON-PADS", "Brake pads (pair)", "services", "29", "25", "For the Volt Trek and Volt City.",
     [("Compound", "organic")]),
    ("cleaning-kit", "CON-CLEAN", "Car care kit", "services", "59", "52", "Shampoo, wax, microfibre cloths.",
     [("Pieces", "6")]),
    ("desk-cable-tray", "ACC-CBL", "Cable tray", "storage", "39", "35", "Clips under any desk.",
     [("Width", "80 cm")]),
    ("extended-warranty-bike", "SRV-WAR", "Extended warranty, e-bike", "services", "199", "175",
     "Adds two years to motor and battery.", [("Term", "+24 months")]),
    ("desk-pad", "CON-PAD", "Felt desk pad", "storage", "29", "25", "Recycled felt, 90 × 40 cm.",
     [("Size", "90 × 40 cm")]),
]  # fmt: skip
RELATED = [
    # product, related, kind, note
    ("aurora", "roof-box-420", "accessory", ""),
    ("aurora", "bike-carrier-3", "accessory", "Needs the towbar option"),
    ("aurora", "winter-wheels-17", "accessory", ""),
    ("aurora", "floor-mats", "accessory", ""),
    ("aurora", "charging-cable", "accessory", "For the electric model"),
    ("aurora", "wallbox-11", "accessory", "For the electric model"),
    ("aurora", "service-plan-car", "upgrade", ""),
    ("aurora", "cleaning-kit", "consumable", ""),
    ("wallbox-11", "wallbox-installation", "upgrade", "Most customers book it with the box"),
    ("volt-trek", "helmet-urban", "accessory", ""),
    ("volt-trek", "battery-625", "accessory", "Doubles the range on tours"),
    ("volt-trek", "folding-lock", "accessory", ""),
    ("volt-trek", "panniers", "accessory", ""),
    ("volt-trek", "bike-service", "upgrade", ""),
    ("volt-trek", "extended-warranty-bike", "upgrade", ""),
    ("volt-trek", "chain-lube", "consumable", ""),
    ("volt-trek", "brake-pads", "consumable", ""),
    ("volt-city", "helmet-urban", "accessory", ""),
    ("volt-city", "volt-trek", "upgrade", "More range and gears for longer rides"),
    ("volt-city", "brake-pads", "consumable", ""),
    ("flexdesk-basic", "flexdesk-basic-2", "successor", "Replaces it from spring"),
    ("flexdesk-basic", "flexdesk", "upgrade", "Any width from 120 to 200 cm"),
    ("flexdesk", "ergochair", "accessory", ""),
    ("flexdesk", "monitor-arm", "accessory", ""),
    ("flexdesk", "drawer-unit", "accessory", ""),
    ("ergochair", "ergochair-plus", "upgrade", ""),
]
DESCRIPTIONS = {
    "aurora": "<p>The Aurora is our family car: <strong>compact</strong> for the city, <strong>saloon</strong> for "
    "long trips, <strong>long wheelbase</strong> for space in the back. Hybrid or fully electric.</p>"
    "<h3>Why customers choose it</h3><ul><li>Five-year warranty</li><li>Boot of up to 610 l</li>"
    "<li>Every safety assistant as standard</li></ul>",
    "volt-trek": "<p>A trekking e-bike that commutes on weekdays and tours at weekends. Choose the frame, the "
    "battery and the accessories; we build it to order.</p>",
    "flexdesk": "<p>Any width from 120 to 200 cm, two depths, four tops. The dual-motor frame carries the "
    "widest tops; the single-motor frame is quieter and cheaper.</p>",
}
FAQ = {
    "aurora": [
        ("Can I tow a caravan?", "Yes, up to 1,600 kg braked with the towbar option (not on the Compact line)."),
        ("How long does the electric model charge?", "About 7.5 hours on an 11 kW wallbox, 30 minutes to 80 % "
         "on a fast charger."),
    ],
    "volt-trek": [("Can I take the battery out?", "Yes, it locks into the frame and charges on or off the bike.")],
    "flexdesk": [("How loud is the motor?", "Below 45 dB: quieter than a conversation.")],
}  # fmt: skip
COMPETITOR_NOTES = {
    "aurora": "Against the Vesta 5: we give five years of warranty where they give three, and the long-wheelbase "
    "model has 12 cm more legroom in the back. They are cheaper on the base hybrid (about €900).",
    "volt-trek": "Against the Stroma T8: same motor class, but our battery is removable and 625 Wh is standard on "
    "their top model only.",
    "flexdesk": "Office chains sell fixed sizes; we make any width in 10 cm steps. Delivery is two weeks longer.",
}


@demo_step(order=5)
def demo_catalog(ctx: DemoContext) -> None:
    from catalog import services
    from catalog.models import Category, Price, PriceList, Product

    categories: dict[str, Category] = {}
    for slug, name, parent in CATEGORIES:
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            category = services.category_create(actor=None, name=name, slug=slug, parent=categories.get(parent))
        categories[slug] = category
    lists: dict[str, PriceList] = {}
    for code, name, currency, valid_from, valid_to in PRICE_LISTS:
        price_list = PriceList.objects.filter(code=code).first()
        if price_list is None:
            price_list = services.price_list_create(
                actor=None, name=name, code=code, currency=currency, valid_from=valid_from, valid_to=valid_to
            )
        lists[code] = price_list
    products: dict[str, Product] = {}
    for slug, sku, name, category, eur, gbp, summary, specs in PRODUCTS:
        product = Product.objects.filter(slug=slug).first()
        if product is None:
            product = services.product_create(
                actor=None,
                slug=slug,
                sku=sku,
                name=name,
                category=categories[category],
                summary=summary,
                description=DESCRIPTIONS.get(slug, f"<p>{summary}</p>"),
                specs=[{"name": n, "value": v} for n, v in specs],
                competitor_notes=COMPETITOR_NOTES.get(slug, ""),
                is_configurable=slug in CONFIGURABLE,
                base_lead_time_days=CONFIGURABLE.get(slug, (None, 5))[1],
            )
            for question, answer in FAQ.get(slug, []):
                services.faq_add(product=product, actor=None, question=question, answer=answer)
        products[slug] = product
        for code, amount in (("retail-eur", eur), ("retail-gbp", gbp), ("retail-eur-2025", eur)):
            if not Price.objects.filter(product=product, price_list=lists[code]).exists():
                last_year = Decimal(amount) * Decimal("0.96") if code.endswith("2025") else Decimal(amount)
                services.price_set(
                    product=product, price_list=lists[code], amount=last_year.quantize(Decimal("1")), actor=None
                )
    for product, related, kind, note in RELATED:
        services.related_add(product=products[product], related=products[related], kind=kind, note=note, actor=None)
    for slug, (builder, _lead) in CONFIGURABLE.items():
        if not products[slug].attributes.exists():
            builder(products[slug])
    ctx.log(
        f"catalog: {Category.objects.count()} categories, {Product.objects.count()} products, "
        f"{len(CONFIGURABLE)} configurable: /configure/aurora/, /configure/volt-trek/, /configure/flexdesk/"
    )


# --- The configurable products ------------------------------------------------------------------------


def _attribute(product, code, name, kind, step, step_title, values=(), **fields):
    """An attribute and its values: (code, label, price extra, lead-time days, default, colour)."""
    from catalog import services

    attribute = services.attribute_create(
        product=product, actor=None, code=code, name=name, kind=kind, step=step, step_title=step_title, **fields
    )
    made = {}
    for position, (value_code, label, extra, days, default, *colour) in enumerate(values):
        made[value_code] = services.value_create(
            attribute=attribute,
            actor=None,
            code=value_code,
            label=label,
            price_extra=Decimal(extra),
            lead_time_extra_days=days,
            is_default=default,
            colour=colour[0] if colour else "",
            position=position,
        )
    return attribute, made


def _rule(product, kind, conditions=(), targets=(), message="", **fields):
    from catalog import services

    return services.rule_create(
        product=product,
        actor=None,
        kind=kind,
        conditions=list(conditions),
        targets=list(targets),
        message=message,
        **fields,
    )


# fmt: off
def build_car(product) -> None:
    """The Aurora: model line, engine, colour, wheels, interior, seat heating, packages and extras."""
    _, line = _attribute(product, "line", "Model line", "radio", 1, "Model", [
        ("COM", "Compact", "0", 0, True),
        ("SAL", "Saloon", "4500", 0, False),
        ("LWB", "Long wheelbase", "9800", 14, False),
    ], help_text="The long-wheelbase model has 12 cm more legroom in the back.")
    _, engine = _attribute(product, "engine", "Engine", "radio", 1, "Model", [
        ("H150", "Hybrid, 150 hp", "0", 0, True),
        ("H220", "Hybrid, 220 hp", "3200", 0, False),
        ("EV", "Electric, 77 kWh", "7900", 21, False),
    ], position=1)
    _attribute(product, "colour", "Colour", "swatch", 2, "Exterior", [
        ("WHT", "Glacier white", "0", 0, True, "#f1f2ef"),
        ("SLV", "Silver frost", "850", 0, False, "#b9bdc3"),
        ("BLK", "Obsidian black", "850", 0, False, "#17191e"),
        ("BLU", "Fjord blue", "850", 0, False, "#1f4e8c"),
        ("GRN", "Moss green", "1150", 7, False, "#4b5e3b"),
        ("RED", "Rosso red", "1150", 7, False, "#a3161a"),
    ])
    _, wheels = _attribute(product, "wheels", "Wheels", "select", 2, "Exterior", [
        ("W17", "17-inch aero wheels", "0", 0, True),
        ("W18", "18-inch alloy wheels", "900", 0, False),
        ("W19S", "19-inch sport wheels", "1900", 7, False),
    ], position=1)
    _, interior = _attribute(product, "interior", "Interior", "radio", 3, "Interior", [
        ("CLO", "Upholstered cloth", "0", 0, True),
        ("LTH", "Leather", "2400", 7, False),
    ])
    _, heating = _attribute(product, "heating", "Seat heating", "radio", 3, "Interior", [
        ("OFF", "No seat heating", "0", 0, True),
        ("FRT", "Heated front seats", "450", 0, False),
        ("ALL", "Heated front and rear seats", "850", 0, False),
    ], position=1)
    _, packages = _attribute(product, "packages", "Packages", "multi", 4, "Packages and extras", [
        ("COMF", "Comfort package", "1800", 0, False),
        ("ECO", "Eco package", "300", 0, False),
        ("TECH", "Tech package", "2200", 7, False),
        ("SPORT", "Sport package", "2600", 0, False),
        ("WINT", "Winter package", "650", 0, False),
    ], required=False, help_text="Comfort: keyless entry, dual-zone climate. Eco: low-rolling-resistance tyres, "
       "heat pump. Tech: matrix LED, 360° camera. Sport: sport seats, lowered suspension.")
    _, extras = _attribute(product, "extras", "Extras", "multi", 4, "Packages and extras", [
        ("TOW", "Towbar", "950", 0, False),
        ("ROOF", "Panoramic glass roof", "1400", 14, False),
        ("HUD", "Head-up display", "890", 0, False),
        ("SND", "Premium sound", "1100", 0, False),
    ], required=False, position=1)
    _, _plate = _attribute(product, "plate", "Name on the door sills", "text", 4, "Packages and extras",
                           required=False, max_length=20, position=2,
                           help_text="Engraved on both front door sills.")
    _rule(product, "requires", [interior["LTH"]], [packages["COMF"], line["LWB"]],
          "Leather needs the Comfort package or the Long-wheelbase model.")
    _rule(product, "price", [interior["LTH"], line["LWB"]], amount=Decimal("600"),
          message="Leather on the long-wheelbase model (more hide)")
    _rule(product, "default", [interior["LTH"]], [heating["FRT"]],
          "With leather, heated front seats are chosen for you.")
    _rule(product, "excludes", [wheels["W19S"]], [packages["ECO"]],
          "The Eco package is not available with 19-inch sport wheels.")
    _rule(product, "excludes", [packages["SPORT"]], [packages["ECO"]],
          "The Eco package and the Sport package cannot be combined.")
    _rule(product, "excludes", [line["COM"]], [extras["TOW"]], "The towbar is not available on the Compact line.")
    _rule(product, "excludes", [line["COM"]], [heating["ALL"]],
          "Heated rear seats are not available on the Compact line.")
    _rule(product, "requires", [packages["SPORT"]], [wheels["W18"], wheels["W19S"]],
          "The Sport package needs 18-inch or 19-inch wheels.")
    _rule(product, "requires", [extras["HUD"]], [packages["TECH"]], "The head-up display needs the Tech package.")
    _rule(product, "default", [line["LWB"]], [wheels["W18"]], "The long-wheelbase model comes on 18-inch wheels.")
    _rule(product, "excludes", [line["LWB"]], [wheels["W17"]],
          "The long-wheelbase model is too heavy for the 17-inch wheels.")
    _rule(product, "price", [engine["EV"], packages["ECO"]], amount=Decimal("-300"),
          message="Eco package on the electric model: the heat pump is already fitted")
    _rule(product, "price", [engine["EV"], extras["TOW"]], amount=Decimal("350"),
          message="Towbar on the electric model (reinforced hitch)")
    _rule(product, "excludes", [engine["H150"]], [line["LWB"]],
          "The long-wheelbase model needs the 220 hp hybrid or the electric engine.")
    _rule(product, "default", [line["LWB"]], [engine["H220"]],
          "The long-wheelbase model comes with the 220 hp hybrid.")
    _rule(product, "default", [engine["EV"]], [packages["WINT"]], "The electric model comes with the Winter package.")


def build_ebike(product) -> None:
    """The Volt Trek: frame, size, motor, battery, colour, accessories (at most four) and a name."""
    _, frame = _attribute(product, "frame", "Frame", "radio", 1, "Frame", [
        ("DIA", "Diamond", "0", 0, True),
        ("STP", "Step-through", "0", 0, False),
    ])
    _, size = _attribute(product, "size", "Frame size", "select", 1, "Frame", [
        ("S", "S (155–168 cm)", "0", 0, False),
        ("M", "M (165–178 cm)", "0", 0, True),
        ("L", "L (175–188 cm)", "0", 0, False),
        ("XL", "XL (186–200 cm)", "0", 7, False),
    ], position=1)
    _, motor = _attribute(product, "motor", "Motor", "radio", 2, "Drive", [
        ("CITY", "City, 65 Nm", "0", 0, True),
        ("TRAIL", "Trail, 85 Nm", "400", 0, False),
    ])
    _, battery = _attribute(product, "battery", "Battery", "radio", 2, "Drive", [
        ("B500", "500 Wh (up to 100 km)", "0", 0, True),
        ("B625", "625 Wh (up to 130 km)", "350", 0, False),
        ("B750", "750 Wh (up to 160 km)", "650", 10, False),
    ], position=1)
    _attribute(product, "colour", "Colour", "swatch", 3, "Look", [
        ("SAND", "Sand", "0", 0, True, "#c9b79c"),
        ("SLATE", "Slate", "0", 0, False, "#4a5560"),
        ("PETROL", "Petrol", "0", 0, False, "#1d5c63"),
        ("ORANGE", "Signal orange", "120", 5, False, "#e0662a"),
    ])
    _, accessories = _attribute(product, "accessories", "Accessories", "multi", 4, "Accessories", [
        ("RACK", "Rear rack", "89", 0, True),
        ("FEND", "Mudguards", "49", 0, True),
        ("LIGHT", "High-beam light", "79", 0, False),
        ("LOCK", "Frame lock", "69", 0, False),
        ("KID", "Child seat mount", "39", 0, False),
        ("PANN", "Panniers", "129", 0, False),
    ], required=False)
    _attribute(product, "name", "Name on the top tube", "text", 4, "Accessories", required=False, max_length=16,
               position=1)
    _rule(product, "excludes", [frame["STP"]], [size["XL"]], "The step-through frame is not made in XL.")
    _rule(product, "requires", [accessories["KID"]], [accessories["RACK"]], "The child seat mount needs the rear rack.")
    _rule(product, "requires", [accessories["PANN"]], [accessories["RACK"]], "Panniers need the rear rack.")
    _rule(product, "quantity", target_attribute=accessories["RACK"].attribute, max_value=Decimal("4"),
          message="Choose at most 4 accessories: the rest fit on at the shop.")
    _rule(product, "default", [motor["TRAIL"]], [battery["B625"]], "The Trail motor comes with the 625 Wh battery.")
    _rule(product, "excludes", [motor["CITY"]], [battery["B750"]], "The 750 Wh battery needs the Trail motor.")
    _rule(product, "price", [motor["TRAIL"], battery["B750"]], amount=Decimal("-100"),
          message="Trail bundle: motor and 750 Wh battery together")


def build_desk(product) -> None:
    """The FlexDesk Pro: width in 10 cm steps, depth, top, frame, accessories (at most three) and a name plate."""
    width, _ = _attribute(product, "width", "Width", "number", 1, "Size", min_value=Decimal("120"),
                          max_value=Decimal("200"), step_value=Decimal("10"), default_number=Decimal("140"),
                          unit="cm", unit_price=Decimal("3.50"))
    _, depth = _attribute(product, "depth", "Depth", "radio", 1, "Size", [
        ("D70", "70 cm", "0", 0, True),
        ("D80", "80 cm", "40", 0, False),
    ], position=1)
    _, top = _attribute(product, "top", "Top", "swatch", 2, "Top and frame", [
        ("OAK", "Oak veneer", "0", 0, True, "#c8a26b"),
        ("WHT", "White", "0", 0, False, "#f2f2ef"),
        ("BLK", "Black", "0", 0, False, "#26272a"),
        ("WAL", "Walnut veneer", "120", 10, False, "#5b3a29"),
    ])
    _, frame = _attribute(product, "frame", "Frame", "radio", 2, "Top and frame", [
        ("SGL", "Single motor, up to 80 kg", "0", 0, True),
        ("DUO", "Dual motor, up to 120 kg", "180", 0, False),
    ], position=1)
    accessories_attr, accessories = _attribute(product, "accessories", "Accessories", "multi", 3, "Accessories", [
        ("CBL", "Cable tray", "39", 0, False),
        ("MON", "Monitor arm", "119", 0, False),
        ("DRW", "Under-desk drawer", "69", 0, False),
        ("CST", "Castors", "49", 0, False),
        ("PAD", "Felt desk pad", "29", 0, False),
    ], required=False)
    _attribute(product, "nameplate", "Name plate", "text", 3, "Accessories", required=False, max_length=24,
               position=1, help_text="Laser-engraved on the front edge.")
    _rule(product, "quantity", target_attribute=accessories_attr, max_value=Decimal("3"),
          message="Choose at most 3 accessories.")
    _rule(product, "quantity", [frame["SGL"]], target_attribute=width, max_value=Decimal("160"),
          message="The single-motor frame carries tops up to 160 cm wide: choose the dual motor for wider ones.")
    _rule(product, "default", [frame["DUO"]], [depth["D80"]], "The dual-motor frame comes with the 80 cm depth.")
    _rule(product, "price", [top["WAL"], depth["D80"]], amount=Decimal("60"),
          message="Walnut top at 80 cm depth (larger veneer)")
    _rule(product, "excludes", [frame["DUO"]], [accessories["CST"]],
          "Castors are not available with the dual-motor frame.")


# fmt: on


# slug: (builder, base lead time in days)
CONFIGURABLE = {"aurora": (build_car, 42), "volt-trek": (build_ebike, 14), "flexdesk": (build_desk, 21)}
