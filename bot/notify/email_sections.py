"""What the summary emails (the daily digest, the weekly summary) are made of: sections of lines,
tables and images, laid out by the shared templates ``templates/email/_page.txt.j2`` and
``_page.html.j2``. Plain values only: the templates escape them in HTML."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.reports.weekly_text import aligned
from bot.severity import Severity

# Chip backgrounds under white text: dark enough for contrast on light and dark mail themes alike.
SEVERITY_COLOUR: dict[str, str] = {Severity.CRITICAL: "#c62828", Severity.HIGH: "#d84315", Severity.MEDIUM: "#a15c00",
                                   Severity.LOW: "#1d4ed8", Severity.INFO: "#4b5563"}
DOWN_COLOUR = "#c62828"
EXPIRY_COLOUR = "#a15c00"
GOOD_COLOUR = "#2e7d32"
NEUTRAL_COLOUR = SEVERITY_COLOUR[Severity.INFO]


@dataclass(frozen=True, slots=True)
class Chip:
    label: str
    colour: str


@dataclass(frozen=True, slots=True)
class Line:
    chip: Chip | None
    title: str
    detail: str


@dataclass(frozen=True, slots=True)
class Table:
    """Columns of figures: ``numeric`` columns are right-aligned; ``text`` is the table for a monospace font."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int]

    @classmethod
    def of(cls, header: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, numeric: frozenset[int]) -> Table:
        return cls(header, tuple(rows), numeric)

    @property
    def text(self) -> list[str]:
        return aligned(self.header, self.rows, left=frozenset(range(len(self.header))) - self.numeric)


@dataclass(frozen=True, slots=True)
class Image:
    """An image the HTML part shows inline (``src`` is ``cid:…``); the text part says ``alt`` instead."""

    src: str
    alt: str
    width: int


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    counts: tuple[Chip, ...] = ()
    lines: tuple[Line, ...] = ()
    empty: str | None = None  # said instead of lines when there are none
    more: str | None = None  # "… and 4 more"
    table: Table | None = None  # shown before the lines
    image: Image | None = None  # shown after everything else


def chip(severity: str, label: str | None = None) -> Chip:
    """A severity's chip, labelled with the severity unless told otherwise."""
    return Chip(label or severity, SEVERITY_COLOUR.get(severity, NEUTRAL_COLOUR))


def sentence(text: str | None) -> str | None:
    return text[:1].upper() + text[1:] if text else None
