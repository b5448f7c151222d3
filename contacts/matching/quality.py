"""Precision, recall and F1 of the engine's automatic links on labelled rows (see synthetic.py)."""

from __future__ import annotations

from dataclasses import dataclass

from contacts.matching.engine import LINK, pairs_within
from contacts.matching.score import PersonRecord
from contacts.matching.synthetic import Row, true_pairs
from contacts.normalize import PhoneError, phone_e164


@dataclass
class Quality:
    rows: int
    true_pairs: int
    linked: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.linked if self.linked else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def row_record(row: Row | dict) -> PersonRecord:
    d = row.as_dict() if isinstance(row, Row) else row
    phones = []
    if d.get("phone"):
        try:
            phones = [phone_e164(d["phone"], d.get("country") or None)]
        except PhoneError:
            phones = []
    return PersonRecord(
        id=d["id"],
        first_name=d.get("first_name", ""),
        last_name=d.get("last_name", ""),
        emails=[d["email"]] if d.get("email") else [],
        phones=phones,
        company=d.get("company", ""),
        street=d.get("street", ""),
        city=d.get("city", ""),
        postcode=d.get("postcode", ""),
        country=d.get("country", ""),
        birth_date=d.get("birth_date"),
    )


def measure(rows: list[Row], *, link: float = LINK) -> tuple[Quality, list[tuple]]:
    """The engine's links on ``rows`` against the truth; also returns the mistakes for inspection."""
    truth = true_pairs(rows)
    records = [row_record(r) for r in rows]
    linked = {}
    for a, b, evidence in pairs_within(records, threshold=link):
        linked[(min(a.id, b.id), max(a.id, b.id))] = evidence
    correct = sum(1 for pair in linked if pair in truth)
    by_id = {r.id: r for r in rows}
    mistakes = [("false link", by_id[a], by_id[b], linked[(a, b)].reasons) for (a, b) in linked if (a, b) not in truth]
    mistakes += [("missed", by_id[a], by_id[b], None) for (a, b) in truth if (a, b) not in linked]
    return Quality(rows=len(rows), true_pairs=len(truth), linked=len(linked), correct=correct), mistakes
