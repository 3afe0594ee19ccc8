"""The CTCAE v5.0 adverse event terms an adverse event is recorded under (`ctcae_terms.yaml`).

Pure module: reads the shipped data file once; no ORM, no clock. A term is matched without regard
to case or surrounding spaces and stored in its CTCAE spelling; a term the list does not name is
accepted only as "other, specify" (`term_other`), so that a coordinator can still record an event
the list does not cover while a typing slip ("Anaemia", "Pneumonia") is caught.

Each term has its Chinese name (`term_zh`) and its system organ class one (`soc_zh`): what a Chinese
reader sees (`shown_term`, `shown_soc`, read in the active language through `trials.content`), while
the term stored and exchanged stays the English CTCAE term. A Chinese name typed where a term is
asked for is found as its term (stored in English).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from trials.content import ContentText, pick

DATA_FILE = Path(__file__).with_name("ctcae_terms.yaml")


@dataclass(frozen=True)
class CtcaeTerm:
    term: str
    soc: str  # MedDRA system organ class
    term_zh: str = field(default="", compare=False)  # the Chinese name
    soc_zh: str = field(default="", compare=False)  # the Chinese name of the system organ class


@dataclass(frozen=True)
class CtcaeTermList:
    version: str
    terms: tuple[CtcaeTerm, ...]
    _by_key: dict = field(init=False, repr=False, compare=False, hash=False)

    _by_zh: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_key", {_key(t.term): t for t in self.terms})
        object.__setattr__(self, "_by_zh", {_key(t.term_zh): t for t in self.terms if t.term_zh})

    def find(self, text: str) -> CtcaeTerm | None:
        """The listed term spelt `text` (case and surrounding spaces aside), or whose Chinese name is
        `text`, else None."""
        key = _key(text)
        return self._by_key.get(key) or self._by_zh.get(key)

    def closest(self, text: str, n: int = 3) -> list[str]:
        """Up to `n` listed terms spelt like `text`, best first (for a hint in an error message)."""
        keys = self._by_key
        return [keys[key].term for key in difflib.get_close_matches(_key(text), list(keys), n=n, cutoff=0.75)]

    def shown_term(self, term: str) -> ContentText:
        """A stored term as shown: its Chinese name to a Chinese reader when the term is listed, else
        the term as stored (an "other, specify" term is shown as recorded)."""
        listed = self._by_key.get(_key(term))
        return pick(term, listed.term_zh if listed is not None else "")

    def shown_soc(self, listed: CtcaeTerm) -> ContentText:
        """A listed term's system organ class in the reader's language."""
        return pick(listed.soc, listed.soc_zh)


def _key(text: str) -> str:
    return " ".join(str(text or "").split()).casefold()


def parse(text: str) -> CtcaeTermList:
    """The term list from the YAML text of `ctcae_terms.yaml`; ValueError when malformed or a term repeats."""
    data = yaml.safe_load(text) or {}
    rows = data.get("terms") or []
    soc_zh = {str(key).strip(): str(value).strip() for key, value in (data.get("soc_zh") or {}).items()}
    terms, seen = [], set()
    for index, row in enumerate(rows):
        term, soc = (str(row.get("term") or "").strip(), str(row.get("soc") or "").strip()) if isinstance(
            row, dict) else ("", "")
        if not term or not soc:
            raise ValueError(f"terms.{index}: give the term and its system organ class (soc).")
        if _key(term) in seen:
            raise ValueError(f"terms.{index}: {term!r} is listed twice.")
        seen.add(_key(term))
        term_zh = str(row.get("term_zh") or "").strip()
        if term_zh and _key(term_zh) in seen:
            raise ValueError(f"terms.{index}: the Chinese name {term_zh!r} is given twice.")
        seen.add(_key(term_zh))
        terms.append(CtcaeTerm(term=term, soc=soc, term_zh=term_zh, soc_zh=soc_zh.get(soc, "")))
    return CtcaeTermList(version=str(data.get("version") or ""), terms=tuple(terms))


@lru_cache(maxsize=1)
def ctcae_terms() -> CtcaeTermList:
    """The shipped list (read once per process)."""
    return parse(DATA_FILE.read_text(encoding="utf-8"))


def shown_term(term: str) -> ContentText:
    """A stored term in the reader's language (`CtcaeTermList.shown_term` of the shipped list)."""
    return ctcae_terms().shown_term(term)
