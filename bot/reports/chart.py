"""The summary's chart: alerts per day by severity, as stacked bars in a PNG of about 1000×500 px.

Headless by construction: a bare :class:`~matplotlib.figure.Figure` on the Agg canvas, never
``pyplot``, so there is no global figure state to leak between concurrent renders and no display
is needed. Colours are those of the severity marks the alert messages use (🔴🟠🟡🔵⚪); the white
one gets an outline so it shows on a white background. Text is plain ASCII on purpose: the
default font has no emoji, and a missing glyph is a warning (an error in our tests).
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from bot.severity import Severity

SEVERITY_COLOURS = {  # the severity marks' colours as Slack draws them
    Severity.CRITICAL: "#DD2E44", Severity.HIGH: "#F4900C", Severity.MEDIUM: "#FDCB58", Severity.LOW: "#55ACEE",
    Severity.INFO: "#E6E7E8",
}
SEVERITY_ORDER = tuple(Severity)
WIDTH_PX, HEIGHT_PX, DPI = 1000, 500, 100
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def ensure_matplotlib_config_dir() -> None:
    """Point ``MPLCONFIGDIR`` at a private temp dir when the default one cannot be written.

    matplotlib keeps its font cache there and reads the variable once, at import; on a fresh
    container with a read-only home it would otherwise warn and rebuild the cache on every start.
    """
    if os.environ.get("MPLCONFIGDIR"):
        return
    home = Path.home()
    wanted = (Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib",
              Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib")
    if not all(_writable(d) for d in wanted):
        os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="watchstander-matplotlib-")


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(directory, os.W_OK)


def render_chart(per_day: Sequence[tuple[date, Mapping[str, int]]], *, title: str, zone_label: str,
                 first_from: str | None = None, last_until: str | None = None) -> bytes:
    """PNG bytes of stacked daily bars, bottom to top critical → info; days are local dates of the report zone.

    ``first_from`` / ``last_until`` ("09:00") mark a first or last day the report covers only part of.
    """
    ensure_matplotlib_config_dir()
    # Imported here, after the config dir is settled, and so a bot that never draws a chart
    # (or a CLI command) does not pay matplotlib's import time.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)  # attaches the Agg canvas: no GUI backend is ever chosen
    ax = figure.add_subplot()
    positions = list(range(len(per_day)))
    bottoms = [0] * len(per_day)
    present = [s for s in SEVERITY_ORDER if any(counts.get(s, 0) for _d, counts in per_day)]
    for severity in present or SEVERITY_ORDER:
        heights = [counts.get(severity, 0) for _d, counts in per_day]
        ax.bar(positions, heights, bottom=bottoms, width=0.7, label=severity,
               color=SEVERITY_COLOURS[severity], edgecolor="#99AAB5" if severity == Severity.INFO else "none",
               linewidth=0.8)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    if len(per_day) <= 14:  # a total over each bar, while they are wide enough to carry one
        for x, total in zip(positions, bottoms, strict=True):
            if total:
                ax.annotate(str(total), (x, total), xytext=(0, 3), textcoords="offset points", ha="center",
                            fontsize=9, color="#444444")
    step = max(1, -(-len(per_day) // 14))  # at most 14 labels, so 30 days stay readable
    labels = [_day_label(d, len(per_day)) for d, _c in per_day]
    if first_from and len(per_day) <= 10:
        labels[0] += f"\nfrom {first_from}"
    if last_until and len(per_day) <= 10:
        labels[-1] += f"\nuntil {last_until}"
    ax.set_xticks(positions[::step], labels[::step])
    ax.set_xlim(-0.6, len(per_day) - 0.4)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(max(bottoms, default=0), 1) * 1.12)
    ax.set_xlabel(f"Day ({zone_label})")
    ax.set_ylabel("Alerts raised")
    ax.set_title(title, loc="left", fontsize=13, fontweight="bold")
    ax.grid(axis="y", color="#E1E8ED", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(title="Severity", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    figure.subplots_adjust(left=0.07, right=0.86, top=0.9, bottom=0.17)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _day_label(day: date, days: int) -> str:
    return f"{day:%a}\n{day.day} {day:%b}" if days <= 10 else f"{day.day} {day:%b}"


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; ValueError when ``png`` is not a PNG."""
    if len(png) < 24 or not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
