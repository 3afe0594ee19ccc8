"""The CTCAE v5.0 adverse event terms an adverse event is recorded under (`ctcae_terms.yaml`).

Pure module: reads the shipped data file once; no ORM, no clock. A term is matched without regard
to case or surrounding spaces and stored in its CTCAE spelling; a term the list does not name is
accepted only as "other, specify" (`term_other`), so that a coordinator can still record an event
the list does not cover while a typing slip ("Anaemia", "Pneumonia") is caught.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

DATA_FILE = Path(__file__).with_name("ctcae_terms.yaml")


@dataclass(frozen=True)
class CtcaeTerm:
    term: str
    soc: str  # MedDRA system organ class


@dataclass(frozen=True)
class CtcaeTermList:
    version: str
    terms: tuple[CtcaeTerm, ...]
    _by_key: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_key", {_key(t.term): t for t in self.terms})

    def find(self, text: str) -> CtcaeTerm | None:
        """The listed term spelt `text` (case and surrounding spaces aside), else None."""
        return self._by_key.get(_key(text))

    def closest(self, text: str, n: int = 3) -> list[str]:
        """Up to `n` listed terms spelt like `text`, best first (for a hint in an error message)."""
        keys = self._by_key
        return [keys[key].term for key in difflib.get_close_matches(_key(text), list(keys), n=n, cutoff=0.75)]


def _key(text: str) -> str:
    return " ".join(str(text or "").split()).casefold()


def parse(text: str) -> CtcaeTermList:
    """The term list from the YAML text of `ctcae_terms.yaml`; ValueError when malformed or a term repeats."""
    data = yaml.safe_load(text) or {}
    rows = data.get("terms") or []
    terms, seen = [], set()
    for index, row in enumerate(rows):
        term, soc = (str(row.get("term") or "").strip(), str(row.get("soc") or "").strip()) if isinstance(
            row, dict) else ("", "")
        if not term or not soc:
            raise ValueError(f"terms.{index}: give the term and its system organ class (soc).")
        if _key(term) in seen:
            raise ValueError(f"terms.{index}: {term!r} is listed twice.")
        seen.add(_key(term))
        terms.append(CtcaeTerm(term=term, soc=soc))
    return CtcaeTermList(version=str(data.get("version") or ""), terms=tuple(terms))


@lru_cache(maxsize=1)
def ctcae_terms() -> CtcaeTermList:
    """The shipped list (read once per process)."""
    return parse(DATA_FILE.read_text(encoding="utf-8"))
