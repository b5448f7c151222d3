"""Numbers on the forecast pages: whole money ("€1,250,000"), compact money ("€1.3M"), signed percentages."""

from __future__ import annotations

from typing import Any

from django import template

from catalog.formatting import SYMBOLS

register = template.Library()


def _symbol(currency: str) -> tuple[str, str]:
    symbol = SYMBOLS.get(currency)
    return (symbol, "") if symbol else ("", f" {currency}")


@register.filter
def fmoney(value: Any, currency: str = "EUR") -> str:
    if value is None or value == "":
        return "—"
    number = round(float(value))
    before, after = _symbol(currency)
    return f"{'−' if number < 0 else ''}{before}{abs(number):,}{after}"


@register.filter
def fcompact(value: Any, currency: str = "EUR") -> str:
    """1_234_567 -> "€1.23M"; 45_600 -> "€45.6k"; below a thousand in whole units."""
    if value is None or value == "":
        return "—"
    number = float(value)
    before, after = _symbol(currency)
    size = abs(number)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            scaled = size / limit
            text = f"{scaled:.3g}" if scaled < 100 else f"{scaled:.0f}"
            return f"{'−' if number < 0 else ''}{before}{text}{suffix}{after}"
    return f"{'−' if number < 0 else ''}{before}{size:,.0f}{after}"


@register.filter
def fchange(value: Any) -> str:
    """A change in percent with its sign: "+4.2 %", "−1.0 %"."""
    if value is None or value == "":
        return "—"
    number = float(value)
    return f"{'+' if number > 0 else '−' if number < 0 else '±'}{abs(number):.1f} %"


@register.filter
def fpct(value: Any, digits: int = 1) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value):.{int(digits)}f} %"


@register.filter
def fnum(value: Any, digits: int = 2) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value):.{int(digits)}f}"


@register.filter
def run_percent(run) -> int:
    from forecasting.selectors_runs import run_progress

    return run_progress(run)


@register.filter
def run_is_going(run) -> bool:
    """Pending or running, and its job (if any) not finished: the progress bar keeps polling."""
    if run.status not in ("pending", "running"):
        return False
    return run.job is None or not run.job.is_finished


@register.filter
def run_badge(run) -> str:
    return {"pending": "", "running": "badge-running", "done": "badge-succeeded", "failed": "badge-failed"}.get(
        run.status, ""
    )


@register.filter
def run_bar(run) -> str:
    return {"running": "progress-running", "done": "progress-succeeded", "failed": "progress-failed"}.get(
        run.status, ""
    )
