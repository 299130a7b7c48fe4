"""The emails and the confirmation page in a real browser: headless Chromium renders the alert email,
the resolved follow-up and the daily digest (the HTML parts as sent) at a desktop's and a phone's
width, in light and dark, and the page behind the Acknowledge link at a phone's; the DOM says what a
reader sees, and the layout (measured by a probe script added to a copy of the page, never to what
is sent) says nothing sticks out of a phone's screen.

In dark mode the alert and resolved emails keep their own light card (every colour is set inline),
the digest leaves the page's colours to the client; either way every text must stand 3:1 from what is
behind it. The screenshots stay in the test's tmp dir; with ``WATCHSTANDER_SCREENSHOTS=<dir>`` they are copied
there too, for a person to look at."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from dataclasses import dataclass, field, replace
from datetime import timedelta
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.notify.email_digest import render_daily_email
from bot.reports.chart import png_size
from bot.reports.daily import AlertCount
from bot.sandbox.smtp import SmtpStandIn
from tests.email.mail import ALICE_EMAIL, PUBLIC_URL, links, local
from tests.escalation.paging import fire
from tests.notify.test_email_digest import NAMES, digest, line
from tests.support.browser import chromium, needs_chromium
from tests.support.factories import am_alert
from tests.support.harness import Harness

pytestmark = needs_chromium
SIZES = {"desktop": (900, 1200), "phone": (390, 1000)}
SCHEMES: dict[str, tuple[str, ...]] = {
    "light": (), "dark": ("--force-dark-mode", "--blink-settings=preferredColorScheme=0")}
OFFLINE = ("--host-resolver-rules=MAP * ~NOTFOUND",)  # an email must render with no network at all
# A real Prometheus generator URL: long, and without a place to break.
GENERATOR_URL = ("http://prometheus.example.com/graph?g0.expr=sum%20by%20(instance)%20(rate(http_requests_total"
                 "%7Bcode%3D~%225..%22%2Cjob%3D%22api%22%7D%5B5m%5D))%20%2F%20sum%20by%20(instance)%20(rate("
                 "http_requests_total%7Bjob%3D%22api%22%7D%5B5m%5D))%20%3E%200.05&g0.tab=1")
TITLE = "KubePersistentVolumeFillingUp"  # as long as alert names get, in one word
NODE = "ip-10-0-12-34.eu-central-1.compute.internal"
# Measures the page as laid out, from inside a copy of it shown in an iframe of the size asked (headless
# Chromium's window is at least 500 px wide, so --dump-dom of the page itself would measure that).
PROBE = r"""<script>
(function () {
  var d = document.documentElement, boxes = [], spill = [];
  document.querySelectorAll("a, h1, button, span").forEach(function (e) {
    var r = e.getBoundingClientRect();
    boxes.push([e.tagName.toLowerCase(), e.textContent.trim().slice(0, 60), Math.round(r.left), Math.round(r.top),
                Math.round(r.width), Math.round(r.height)]);
  });
  document.querySelectorAll("body *").forEach(function (e) {
    if (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible") {
      spill.push([e.tagName.toLowerCase(), e.textContent.trim().slice(0, 60), e.clientWidth, e.scrollWidth]);
    }
  });
  var canvas = document.createElement("div"), texts = [];
  canvas.style.background = "Canvas";  // the page's own background colour, light or dark
  document.body.appendChild(canvas);
  var page = getComputedStyle(canvas).backgroundColor;
  canvas.remove();
  function behind(e) {
    for (; e && e.nodeType === 1; e = e.parentElement) {
      var bg = getComputedStyle(e).backgroundColor, alpha = bg.match(/rgba\(.*, ([\d.]+)\)/);
      if (!alpha || parseFloat(alpha[1]) > 0.5) return bg;
    }
    return page;
  }
  document.querySelectorAll("body *").forEach(function (e) {
    var own = Array.prototype.some.call(e.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
    if (own && e.getClientRects().length) {
      texts.push([e.tagName.toLowerCase(), e.textContent.trim().slice(0, 60), getComputedStyle(e).color, behind(e)]);
    }
  });
  parent.document.body.setAttribute("data-layout", JSON.stringify({width: innerWidth, height: innerHeight,
    scrollWidth: d.scrollWidth, scrollHeight: d.scrollHeight, boxes: boxes, spill: spill, texts: texts, canvas: page}));
})();
</script>"""


@dataclass(frozen=True)
class Box:
    tag: str
    text: str
    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width


APART = {"br", "p", "div", "td", "tr", "h1", "li", "span", "button", "section"}  # what shows its text apart


@dataclass
class Dom(HTMLParser):
    """What a reader sees in a dumped DOM: its text, its links, what it would load, and the probe's layout."""

    text: str = ""
    anchors: list[tuple[str, str]] = field(default_factory=list)  # (text, href)
    loads: list[str] = field(default_factory=list)  # every src=, and <link href=>
    forms: list[dict[str, str | None]] = field(default_factory=list)
    layout: dict[str, object] = field(default_factory=dict)
    _href: str | None = None
    _anchor_text: list[str] = field(default_factory=list)
    _skip: int = 0

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in APART:
            self.text += " "
        if a.get("src") is not None:
            self.loads.append(a["src"] or "")
        if tag == "link":
            self.loads.append(a.get("href") or "")
        if tag == "a":
            self._href, self._anchor_text = a.get("href") or "", []
        if tag == "form":
            self.forms.append(a)
        if tag == "body" and a.get("data-layout"):
            self.layout = json.loads(a["data-layout"] or "{}")
        if tag in ("script", "style", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in APART:
            self.text += " "
        if tag == "a" and self._href is not None:
            self.anchors.append((" ".join("".join(self._anchor_text).split()), self._href))
            self._href = None
        if tag in ("script", "style", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text += data
        if self._href is not None:
            self._anchor_text.append(data)

    @property
    def words(self) -> str:
        """The visible text with whitespace collapsed."""
        return " ".join(self.text.split())

    @property
    def boxes(self) -> list[Box]:
        boxes = self.layout.get("boxes", [])
        assert isinstance(boxes, list)
        return [Box(*b) for b in boxes]

    def box(self, tag: str, text: str) -> Box:
        found = [b for b in self.boxes if b.tag == tag and b.text == text]
        assert found, f"no <{tag}> {text!r} in {self.boxes}"
        return found[0]

    def href(self, text: str) -> str:
        found = [h for t, h in self.anchors if t == text]
        assert len(found) == 1, (text, self.anchors)
        return found[0]


def probe_page(html: str, size: tuple[int, int]) -> str:
    """A page showing ``html``, with :data:`PROBE` added, in an iframe of ``size``."""
    inner = html.replace("</body>", PROBE + "\n</body>", 1)
    return (f'<!DOCTYPE html><html><body style="margin:0"><iframe width="{size[0]}" height="{size[1]}" '
            f'style="border:0;display:block" srcdoc="{escape(inner, quote=True)}"></iframe></body></html>')


async def measure(html: str, name: str, size: tuple[int, int], scheme: str, tmp: Path) -> dict[str, object]:
    """The layout and colours of ``html`` on a screen of ``size`` in ``scheme``: the probe's numbers."""
    probe = tmp / f"{name}-{size[0]}-{scheme}.probe.html"
    probe.write_text(probe_page(html, size), encoding="utf-8")
    dom = parse(await chromium(tmp / f"profile-{name}-{size[0]}-{scheme}-probe", *OFFLINE, *SCHEMES[scheme],
                               "--dump-dom", probe.as_uri(), size=(size[0] + 100, size[1] + 200)))
    assert dom.layout["width"] == size[0], (name, dom.layout["width"])
    return dom.layout


def parse(dom: bytes) -> Dom:
    parsed = Dom()
    parsed.feed(dom.decode())
    parsed.close()
    return parsed


@dataclass
class Shots:
    """Where screenshots go: the test's tmp dir, and ``$WATCHSTANDER_SCREENSHOTS`` when it is set."""

    tmp: Path

    def path(self, name: str) -> Path:
        return self.tmp / f"{name}.png"

    def keep(self, shot: Path, size: tuple[int, int]) -> None:
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000, shot
        assert png_size(data) == size, (shot, png_size(data))
        if target := os.environ.get("WATCHSTANDER_SCREENSHOTS"):
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, Path(target) / shot.name)


@pytest.fixture
def shots(tmp_path: Path) -> Shots:
    return Shots(tmp_path)


def assert_fits(dom: Dom, where: str) -> None:
    """Nothing wider than the screen: no sideways scrolling, no link, chip or heading past the right edge,
    no text spilling out of its box."""
    width = dom.layout["width"]
    assert isinstance(width, int)
    assert dom.layout["scrollWidth"] == width, (where, dom.layout["scrollWidth"], width)
    wide = [b for b in dom.boxes if b.right > width or b.left < 0]
    assert not wide, (where, wide)
    assert not dom.layout["spill"], (where, dom.layout["spill"])


def _luminance(css: str) -> float:
    m = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, [\d.]+)?\)", css)
    assert m, css
    lin = [(c / 255 / 12.92) if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
           for c in map(int, m.groups())]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    """WCAG's contrast ratio of two computed CSS colours."""
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def assert_legible(dom: Dom, where: str, floor: float = 3.0) -> None:
    """Every piece of text stands out from what is behind it (WCAG's 3:1 at least)."""
    texts = dom.layout["texts"]
    assert isinstance(texts, list) and texts, where
    faint = [(tag, text, fg, bg, round(contrast(fg, bg), 2)) for tag, text, fg, bg in texts if contrast(fg, bg) < floor]
    assert not faint, (where, faint)


def assert_nothing_fetched(html: str) -> None:
    """Mail-client HTML: inline styles only, nothing loaded from the network, images only from the message."""
    assert not re.search(r"<(script|style|link|iframe|object|embed|form)\b", html, re.I)
    assert not re.search(r"@import|url\(", html, re.I)
    for src in re.findall(r"""\bsrc\s*=\s*["']?([^"'\s>]+)""", html, re.I):
        assert src.startswith("cid:"), src
    assert not re.search(r"""\b(?:background|srcset|poster)\s*=""", html, re.I)


async def render_email(html: str, name: str, shots: Shots) -> dict[str, Dom]:
    """Render an email's HTML part from a file, offline, at each size in light and dark: check it fits and
    reads, keep the screenshots, and return the DOM as Chromium built it with each size's layout."""
    assert_nothing_fetched(html)
    page = shots.tmp / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    dump = await chromium(shots.tmp / f"profile-{name}-dom", *OFFLINE, "--dump-dom", page.as_uri(),
                          size=SIZES["desktop"])
    views = [(size, scheme) for size in SIZES for scheme in SCHEMES]
    layouts = dict(zip(views, await asyncio.gather(*(
        measure(html, name, SIZES[size], scheme, shots.tmp) for size, scheme in views)), strict=True))

    async def shoot(size: str, scheme: str) -> None:
        width, height = SIZES[size]
        scroll = layouts[size, scheme]["scrollHeight"]
        assert isinstance(scroll, int)
        full = (width, max(height, scroll))  # the whole email in one picture
        shot = shots.path(f"{name}-{size}-{scheme}")
        await chromium(shots.tmp / f"profile-{name}-{size}-{scheme}", *OFFLINE, *SCHEMES[scheme],
                       f"--screenshot={shot}", page.as_uri(), size=full)
        shots.keep(shot, full)

    await asyncio.gather(*(shoot(size, scheme) for size, scheme in views))
    for size in SIZES:  # the email says it reads in both (color-scheme: light dark): the browser went dark
        assert layouts[size, "light"]["canvas"] == "rgb(255, 255, 255)" != layouts[size, "dark"]["canvas"], size
    doms = {}
    for size, scheme in views:
        dom = parse(dump)
        dom.layout = layouts[size, scheme]
        assert_fits(dom, f"{name} at {size}, {scheme}")
        assert_legible(dom, f"{name} at {size}, {scheme}")
        doms[size] = dom
    return doms


# -- the emails ------------------------------------------------------------------------------------
def full_alert() -> dict[str, object]:
    alert = am_alert(TITLE, labels={"pod": "api-7d9f8b6c5-x2x9k", "node": NODE},
                     description="Checkout requests fail with 502 from the payments upstream.",
                     metric="http_requests_errors_ratio", threshold="> 5%", value="7.2%")
    alert["generatorURL"] = GENERATOR_URL
    return alert


async def test_the_alert_email_reads_well_in_chromium_on_a_desktop_and_a_phone_in_light_and_dark(
        mailer: Harness, smtp: SmtpStandIn, shots: Shots) -> None:
    message = await fire(mailer, full_alert())
    mail = await smtp.wait_for_email(ALICE_EMAIL)
    assert mail.html is not None
    found = links(mail)

    for size, dom in (await render_email(mail.html, "alert", shots)).items():
        words = dom.words
        assert f"CRITICAL {TITLE} (api)" in words, size
        assert "Checkout requests fail with 502 from the payments upstream." in words
        assert "error rate 7.2% > 5%" in words
        assert "Metric http_requests_errors_ratio" in words and "Threshold > 5%" in words and "Value 7.2%" in words
        for label in (f"alertname={TITLE}", "instance=api-1:9090", f"node={NODE}", "pod=api-7d9f8b6c5-x2x9k", "service=api", "severity=critical"):
            assert label in words, label
        assert "Step 1 of platform team's escalation pages Alice by email." in words
        assert dom.href("Acknowledge") == found["Acknowledge"]
        assert dom.href("Acknowledge").startswith(f"{PUBLIC_URL}/email/ack/")
        assert dom.href("Resolve") == found["Resolve"]
        assert dom.href("Resolve").startswith(f"{PUBLIC_URL}/email/resolve/")
        assert dom.href("Open in Slack") == (
            f"https://slack.com/archives/{message.channel}/p{message.ts.replace('.', '')}")
        assert dom.href("https://runbooks.example.com/high-error-rate") == "https://runbooks.example.com/high-error-rate"
        assert dom.href(GENERATOR_URL[:79] + "…") == GENERATOR_URL  # shown by its start; the text part has it all

        chip, title = dom.box("span", "CRITICAL"), dom.box("h1", f"{TITLE} (api)")
        assert chip.height < 30 and chip.top + chip.height <= title.top, (size, chip, title)  # one line, above
        ack, res, slack = (dom.box("a", t) for t in ("Acknowledge", "Resolve", "Open in Slack"))
        assert ack.height == res.height == slack.height < 50, (size, ack, res, slack)  # no label wraps
        assert ack.top == res.top and ack.right <= res.left, (size, ack, res)  # side by side, in order
        if size == "desktop":
            assert slack.top == ack.top and res.right <= slack.left  # room for all three on one row


async def test_the_resolved_follow_up_reads_well_in_chromium(mailer: Harness, smtp: SmtpStandIn, shots: Shots) -> None:
    message = await fire(mailer, full_alert())
    first = await smtp.wait_for_email(ALICE_EMAIL)
    mailer.clock.advance(timedelta(minutes=7))
    async with mailer.http.post(local(mailer, links(first)["Resolve"])) as resp:
        assert resp.status == 200
    await mailer.drain()
    follow_up = await smtp.wait_for_email(ALICE_EMAIL, subject_contains="Re: ")
    assert follow_up.html is not None

    for size, dom in (await render_email(follow_up.html, "resolved", shots)).items():
        assert f"RESOLVED {TITLE} (api)" in dom.words, size
        assert "Resolved by Alice (email) after 7m 00s." in dom.words
        assert dom.href("Open in Slack") == (
            f"https://slack.com/archives/{message.channel}/p{message.ts.replace('.', '')}")
        assert not [h for _, h in dom.anchors if "/email/" in h]  # nothing left to act on
        chip, title = dom.box("span", "RESOLVED"), dom.box("h1", f"{TITLE} (api)")
        assert chip.height < 30 and chip.top + chip.height <= title.top, (size, chip, title)


async def test_the_daily_digest_email_reads_well_in_chromium(shots: Shots) -> None:
    seeded = digest()
    longest = line(4, TITLE, "critical", "firing", seeded.now - timedelta(minutes=40))
    open_now = AlertCount({"critical": 1, "high": 2}, (longest, *seeded.open_now.shown))
    email = render_daily_email(replace(seeded, open_now=open_now), public_url="https://watchstander.example.com/",
                               names=NAMES)

    for size, dom in (await render_email(email.html, "daily", shots)).items():
        words = dom.words
        assert "Daily digest — Thu 3 Dec" in words, size
        assert "Wed 2 Dec 00:00 CET → Thu 3 Dec 00:00 CET · as of Thu 3 Dec 08:30 CET" in words
        assert '<script>alert("x")</script> & <b>DiskFull</b> (platform)' in words  # shown as text
        for said in ("Yesterday: 14 alerts", "1 critical", "2 high", "11 low", "… and 4 more", "Open now: 3", f"{TITLE} (platform)",
                     "BackupFailed (platform)", "firing, open 2d 21h", "On call today", "primary Bob",
                     "backup Alice", "Checks down or expiring", "api-health (platform)",
                     "down 2h 30m, since 06:00: HTTP 503", "shop-tls (shop.example.com:443)"):
            assert said in words, said
        assert dom.href("Watchstander") == "https://watchstander.example.com"
        assert dom.box("span", "1 critical").height < 30 and dom.box("span", "critical").height < 30


# -- the confirmation page -------------------------------------------------------------------------
async def test_the_acknowledge_page_reads_well_on_a_phone_and_its_form_posts_back_to_the_link(
        mailer: Harness, smtp: SmtpStandIn, shots: Shots) -> None:
    await fire(mailer, full_alert())
    ack = links(await smtp.wait_for_email(ALICE_EMAIL))["Acknowledge"]
    url = local(mailer, ack)
    async with mailer.http.get(url) as resp:
        assert resp.status == 200
        csp = resp.headers["Content-Security-Policy"]
        body = await resp.text()
    assert "form-action 'self'" in csp.split("; ") and "script-src 'none'" in csp.split("; ")

    phone = SIZES["phone"]
    dom = parse(await chromium(shots.tmp / "profile-confirm-dom", "--dump-dom", url, size=phone))
    assert "Acknowledge this alert?" in dom.words
    assert f"CRITICAL {TITLE}" in dom.words and "You act as Alice." in dom.words
    assert dom.forms == [{"method": "post", "class": "confirm"}]  # no action: it posts to the page's own URL
    assert re.search(r'<form method="post" class="confirm">\s*<button type="submit">Acknowledge</button>', body)
    assert dom.loads == []

    for scheme in SCHEMES:
        # The layout, measured on a copy (the bot's own page allows no script, rightly).
        laid_out = parse(await chromium(shots.tmp / "profile-confirm-dom", "--dump-dom", url, size=phone))
        laid_out.layout = await measure(body, "confirm", phone, scheme, shots.tmp)
        assert_fits(laid_out, f"confirmation page, {scheme}")
        assert_legible(laid_out, f"confirmation page, {scheme}")
        button, heading = laid_out.box("button", "Acknowledge"), laid_out.box("h1", TITLE)
        assert button.height < 60 and button.top > heading.top, (button, heading)

        shot = shots.path(f"confirm-phone-{scheme}")
        await chromium(shots.tmp / f"profile-confirm-{scheme}", *SCHEMES[scheme], f"--screenshot={shot}", url,
                       size=phone)
        shots.keep(shot, phone)
    assert shots.path("confirm-phone-light").read_bytes() != shots.path("confirm-phone-dark").read_bytes()

    async with mailer.http.post(url) as resp:  # what the button sends: the same URL, POST
        assert resp.status == 200
        done = await resp.text()
    assert "Acknowledged" in done
    page = shots.tmp / "confirm-done.html"
    page.write_text(done, encoding="utf-8")
    shot = shots.path("confirm-done-phone-light")
    await chromium(shots.tmp / "profile-confirm-done", *OFFLINE, f"--screenshot={shot}", page.as_uri(), size=phone)
    shots.keep(shot, phone)
