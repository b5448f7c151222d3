"""What the public configurator page shows: its steps, attributes and options, written in Python.

The page re-renders every attribute and option on each change (the HTMX round trip). Django's template
engine spends a few µs on every variable and tag, and a product has dozens to hundreds of options: as a
template (``partials/_cfg_attribute.html``) this markup was the largest part of the request's CPU, so it is
written here instead, the same markup: labels, legends, ``aria-describedby`` and the reason an option cannot
be chosen. Every text goes through ``html.escape`` (what Django's ``escape`` calls); tests/catalog/
test_configurator_page.py checks that. The parts of an option that do not depend on the request (ids,
escaped labels, costs, swatch chips) are prepared once per compiled model. The summary stays in
``catalog/configure.html``.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from html import escape
from typing import Any

from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString

from catalog.configurator import MULTI, NUMBER, SINGLE, Attr, CompiledProduct, Result, Value
from catalog.formatting import extra, number
from catalog.forms import HONEYPOT_FIELD
from catalog.models import Attribute, Product
from catalog.ui import quote_request_available

SWATCH, SELECT = Attribute.Kind.SWATCH.value, Attribute.Kind.SELECT.value


def configurator_context(product: Product, model: CompiledProduct, result: Result, touched: list[str]) -> dict:
    """What the configurator page shows: the steps with every option's state, and the summary."""
    steps: dict[int, dict[str, Any]] = {}
    names = {}
    summary = []
    fragments = _fragments(model)
    for attr in model.attributes:
        names[attr.code] = attr.name
        step = steps.get(attr.step)
        if step is None:
            step = steps[attr.step] = {"title": "", "attributes": []}
        step["title"] = step["title"] or attr.step_title
        value = result.configuration.get(attr.code)
        chosen = _display(attr, value, model)
        step["attributes"].append(_attribute_html(attr, value, chosen, result, fragments))
        summary.append((attr.name, chosen))
    ordered = [steps[key] for key in sorted(steps)]
    for index, step in enumerate(ordered, start=1):
        step["index"] = index
        step["title"] = step["title"] or f"Step {index}"
    return {
        "product": product,
        "model": model,
        "result": result,
        "steps_html": _steps_html(ordered),
        "summary": summary,
        "errors": [{"field": names.get(e.field, ""), "message": e.message} for e in result.errors],
        "touched": touched,
        "honeypot": HONEYPOT_FIELD,
        "quote_request": quote_request_available(),
        "urls": _urls(get_script_prefix(), product.slug),
    }


@lru_cache(maxsize=256)
def _urls(prefix: str, slug: str) -> dict[str, str]:
    """The page's form addresses (the form, and saving it), reversed once per product."""
    return {
        "configure": reverse("catalog:configure", args=[slug]),
        "save": reverse("catalog:configure-save", args=[slug]),
    }


def _display(attr: Attr, value: Any, model: CompiledProduct) -> str:
    if attr.shape == SINGLE:
        return model.label((attr.code, value)) if value else "None"
    if attr.shape == MULTI:
        return ", ".join(model.label((attr.code, code)) for code in value) or "None"
    if attr.shape == NUMBER:
        return f"{value} {attr.unit}".strip() if value else "—"
    return value or "—"


def _steps_html(steps: list[dict[str, Any]]) -> SafeString:
    """The steps' navigation, then each step with its attributes."""
    count = len(steps)
    nav = "".join(
        f'<li><a href="#step-{s["index"]}"><span aria-hidden="true">{s["index"]}</span> {escape(s["title"])}</a></li>'
        for s in steps
    )
    out = [
        '\n      <nav class="cfg-stepnav" aria-label="Steps">\n'
        f'        <ol>{nav}<li><a href="#cfg-summary"><span aria-hidden="true">✓</span> Summary</a></li></ol>\n'
        "      </nav>"
    ]
    for step in steps:
        index, title = step["index"], escape(step["title"])
        out.append(
            f'\n      <section class="card cfg-step" id="step-{index}" aria-labelledby="step-{index}-title">\n'
            f'        <h2 id="step-{index}-title"><span class="cfg-step-no" aria-hidden="true">{index}</span>'
            f'<span class="visually-hidden">Step {index} of {count}: </span>{title}</h2>\n'
            f"{''.join(step['attributes'])}"
            "      </section>"
        )
    return SafeString("".join(out) + "\n    ")


# --- The request-independent parts, once per compiled model ------------------------------------------------


class _Option:
    """One option's escaped texts: its id, label, costs ("+€850 · +7 days") and swatch chip."""

    __slots__ = ("chip", "code", "costs", "extra", "key", "label", "oid")

    def __init__(self, attr: Attr, value: Value, currency: str) -> None:
        self.key = value.key
        self.code = escape(value.code)
        self.oid = escape(f"cfg-{attr.code}-{value.code}")
        self.label = escape(value.label)
        costs = _costs(value.price_extra, value.lead_days, currency)
        self.extra = escape(costs)  # in a drop-down: "Leather (+€2,400 · +7 days)"
        self.costs = f'<span class="cfg-option-extra">{self.extra}</span>' if costs else ""
        self.chip = ""
        if attr.kind == SWATCH:
            colour = escape(value.colour or "#cccccc")
            self.chip = f'<span class="swatch-chip" style="--chip: {colour}" aria-hidden="true"></span>'


_by_model: dict[int, tuple[CompiledProduct, dict[str, tuple[_Option, ...]]]] = {}
_BY_MODEL_MAX = 256


def _fragments(model: CompiledProduct) -> dict[str, tuple[_Option, ...]]:
    """Attribute code -> its options' escaped parts, kept while this process keeps the model (see compiled_for)."""
    entry = _by_model.get(id(model))
    if entry is not None and entry[0] is model:
        return entry[1]
    parts = {attr.code: tuple(_Option(attr, v, model.currency) for v in attr.values) for attr in model.attributes}
    if len(_by_model) >= _BY_MODEL_MAX:
        _by_model.clear()
    _by_model[id(model)] = (model, parts)
    return parts


@lru_cache(maxsize=4096)
def _costs(price_extra: Decimal, lead_days: int, currency: str) -> str:
    """ "+€850 · +7 days": what an option adds."""
    lead = f"+{lead_days} days" if lead_days else ""
    return " · ".join(text for text in (extra(price_extra, currency), lead) if text)


# --- The markup --------------------------------------------------------------------------------------------


def _attribute_html(
    attr: Attr, value: Any, chosen: str, result: Result, fragments: dict[str, tuple[_Option, ...]]
) -> str:
    errors = result.errors_for(attr.code)
    code = escape(attr.code)
    error_html = ""
    if errors:
        paragraphs = "".join(f"<p>{escape(e)}</p>" for e in errors)
        error_html = f'\n  <div class="cfg-error" id="err-{code}">{paragraphs}</div>'
    has_error = " has-error" if errors else ""
    shape = attr.shape
    if shape == MULTI or (shape == SINGLE and attr.kind != SELECT):
        return _choices_html(attr, value, chosen, result, fragments[attr.code], code, has_error, error_html)
    if attr.kind == SELECT:
        return _select_html(attr, value, result, fragments[attr.code], code, has_error, error_html)
    described = f"cfg-{code}-help" + (f" err-{code}" if errors else "")
    help_text = f"{escape(attr.help_text)} " if attr.help_text else ""
    if shape == NUMBER:
        unit = escape(attr.unit)
        bounds = ""
        if attr.min_value is not None:
            bounds += f' min="{number(attr.min_value)}"'
        if attr.max_value is not None:
            bounds += f' max="{number(attr.max_value)}"'
        if attr.step_value:
            bounds += f' step="{number(attr.step_value)}"'
        help_text += f"From {number(attr.min_value)} to {number(attr.max_value)} {unit}"
        if attr.step_value:
            help_text += f", in steps of {number(attr.step_value)}"
        if attr.unit_price:
            per = escape(attr.unit or "unit")
            cost = escape(extra(attr.unit_price, result.currency))
            help_text += f"; {cost} per {per} above {number(attr.min_value)}"
        return (
            f'\n<div class="cfg-attr field{has_error}">\n'
            f'  <label for="cfg-{code}">{escape(attr.name)}{f" ({unit})" if attr.unit else ""}</label>\n'
            f'  <input type="number" class="cfg-typed" hx-preserve="true" name="{code}" id="cfg-{code}" '
            f'value="{escape(str(value)) if value is not None else ""}" inputmode="decimal"{bounds} '
            f'aria-describedby="{described}">\n'
            f'  <small class="help" id="cfg-{code}-help">{help_text}.</small>{error_html}\n'
            "</div>\n"
        )
    limit = attr.max_length or 100
    optional = "" if attr.required else ' <span class="muted small">(optional)</span>'
    return (
        f'\n<div class="cfg-attr field{has_error}">\n'
        f'  <label for="cfg-{code}">{escape(attr.name)}{optional}</label>\n'
        f'  <input type="text" class="cfg-typed" hx-preserve="true" name="{code}" id="cfg-{code}" '
        f'value="{escape(str(value))}" maxlength="{limit}" autocomplete="off" aria-describedby="{described}">\n'
        f'  <small class="help" id="cfg-{code}-help">{help_text}Up to {limit} characters.</small>{error_html}\n'
        "</div>\n"
    )


def _state(result: Result, option: _Option) -> tuple[bool, str, str]:
    """Whether the option cannot be chosen now, why, and what else it would need (texts escaped, "" if none)."""
    state = result.options.get(option.key)
    if state is None:
        return False, "", ""
    why = escape(" ".join(r.message for r in state.reasons)) if state.reasons else ""
    needs = escape(" ".join(r.message for r in state.needs)) if state.needs else ""
    return state.impossible, why, needs


def _choices_html(
    attr: Attr,
    value: Any,
    chosen: str,
    result: Result,
    options: tuple[_Option, ...],
    code: str,
    has_error: str,
    error_html: str,
) -> str:
    """Radio buttons, swatches or checkboxes in a fieldset, each option with the reason it is unavailable."""
    kind = "checkbox" if attr.shape == MULTI else "radio"
    selected = result.selected
    out = []
    for option in options:
        checked = option.key in selected
        disabled, why, needs = _state(result, option)
        css = "cfg-option" + (" is-checked" if checked else "") + (" is-disabled" if disabled else "")
        flags = (" checked" if checked else "") + (" disabled" if disabled else "")
        note = ""
        if why or needs:
            flags += f' aria-describedby="{option.oid}-why"'
        if why:
            hidden = f'<span class="visually-hidden">{option.label} is not available: </span>'
            note = f'<p class="cfg-why" id="{option.oid}-why">{hidden}{why}</p>'
        elif needs:
            note = f'<p class="cfg-needs" id="{option.oid}-why">{needs}</p>'
        out.append(
            f'<div class="{css}"><input type="{kind}" name="{code}" value="{option.code}" id="{option.oid}"{flags}>'
            f'<label for="{option.oid}">{option.chip}<span class="cfg-option-label">{option.label}</span>'
            f"{option.costs}</label>{note}</div>"
        )
    none = ""
    if attr.shape == SINGLE and not attr.required:
        flag, css = (" checked", " is-checked") if not value else ("", "")
        none = (
            f'\n    <div class="cfg-option{css}">\n'
            f'      <input type="radio" name="{code}" value="" id="cfg-{code}-none"{flag}>\n'
            f'      <label for="cfg-{code}-none"><span class="cfg-option-label">None</span></label>\n'
            "    </div>"
        )
    described = f' aria-describedby="err-{code}"' if has_error else ""
    legend = f'<span class="cfg-attr-name">{escape(attr.name)}</span>'
    if attr.required:
        legend += '<span class="visually-hidden"> (required)</span>'
    if attr.kind == SWATCH:
        legend += f' <span class="cfg-attr-chosen">{escape(chosen)}</span>'
    help_html = f'\n  <p class="help">{escape(attr.help_text)}</p>' if attr.help_text else ""
    return (
        f'\n<fieldset class="cfg-attr cfg-kind-{escape(attr.kind)}{has_error}"{described}>\n'
        f"  <legend>{legend}</legend>{help_html}{error_html}\n"
        f'  <div class="cfg-options">{none}\n'
        f"    {''.join(out)}\n"
        "  </div>\n"
        "</fieldset>\n"
    )


def _select_html(
    attr: Attr,
    value: Any,
    result: Result,
    options: tuple[_Option, ...],
    code: str,
    has_error: str,
    error_html: str,
) -> str:
    """A drop-down list; the reasons its options are unavailable are listed under it."""
    selected = result.selected
    items = []
    notes = []
    if not attr.required or not value:
        flag = " selected" if not value else ""
        items.append(f'<option value=""{flag}>{"Choose…" if attr.required else "None"}</option>\n    ')
    for option in options:
        disabled, why, needs = _state(result, option)
        flags = (" selected" if option.key in selected else "") + (" disabled" if disabled else "")
        costs = f" ({option.extra})" if option.extra else ""
        unavailable = " — not available" if disabled else ""
        items.append(f'<option value="{option.code}"{flags}>{option.label}{costs}{unavailable}</option>')
        if why:
            notes.append(f'<li class="cfg-why"><strong>{option.label}</strong> is not available: {why}</li>')
        elif needs:
            notes.append(f'<li class="cfg-needs"><strong>{option.label}</strong>: {needs}</li>')
    help_html = ""
    described = f"cfg-{code}-why" + (f" err-{code}" if has_error else "")
    if attr.help_text:
        help_html = f'\n  <p class="help" id="cfg-{code}-help">{escape(attr.help_text)}</p>'
        described = f"cfg-{code}-help {described}"
    return (
        f'\n<div class="cfg-attr field{has_error}">\n'
        f'  <label for="cfg-{code}">{escape(attr.name)}</label>{help_html}\n'
        f'  <select name="{code}" id="cfg-{code}" aria-describedby="{described}">\n'
        f"    {''.join(items)}\n"
        "  </select>\n"
        f'  <ul class="cfg-why-list" id="cfg-{code}-why">\n'
        f"    {''.join(notes)}\n"
        f"  </ul>{error_html}\n"
        "</div>\n"
    )
