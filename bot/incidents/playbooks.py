"""Playbooks: what to check and do when a known kind of alert fires.

A playbook is one YAML file in the playbook directory; its ``id`` is the file stem
(``service-down.yaml`` → ``service-down``), so renaming the file is the only way to change it.
Alerts link the playbook whose ``match`` fits their labels; incident channels post it as a
checklist whose item ids (``investigate-1``, ``mitigate-2``…) are stable for as long as the file's
step order is, so ticks recorded on the timeline keep pointing at the same step.

Where the playbooks live (:func:`default_playbook_dir`), first existing wins:

1. ``$WATCHSTANDER_PLAYBOOKS`` — used as given, even if it does not exist, so a typo in it fails
   loudly instead of silently falling back to the stock playbooks;
2. ``./playbooks`` in the working directory — the operator's own copy;
3. ``playbooks/`` at the root of the source checkout the ``bot`` package was imported from
   (the canonical copies, also what an editable install sees);
4. ``<sys.prefix>/share/watchstander/playbooks`` — where a wheel puts them when packaging
   declares them as data files.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from bot.alerts.matchers import labels_match
from bot.config.loading import key_lines, line_for
from bot.severity import Severity

PLAYBOOKS_ENV = "WATCHSTANDER_PLAYBOOKS"
PLAYBOOK_SUFFIXES = (".yaml", ".yml")

# --- schema --------------------------------------------------------------------------------------


def _matcher_value(value: str) -> str:
    if value.startswith("~"):
        try:
            re.compile(value[1:])
        except re.error as exc:
            raise ValueError(f"bad regular expression {value[1:]!r}: {exc}") from None
    return value


def _match_sets(value: object) -> object:
    """``match`` may be one matcher set or a list of them; normalise to a list."""
    return [value] if isinstance(value, Mapping) else value


def _clean_text(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    return text


Text = Annotated[str, AfterValidator(_clean_text)]
MatcherValue = Annotated[str, AfterValidator(_matcher_value)]
MatchSet = Annotated[dict[str, MatcherValue], Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlaybookLink(_Model):
    text: Text
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]


class PlaybookSteps(_Model):
    investigate: list[Text] = []
    mitigate: list[Text] = []
    fix: list[Text] = []

    @model_validator(mode="after")
    def _not_empty(self) -> PlaybookSteps:
        if not (self.investigate or self.mitigate or self.fix):
            raise ValueError("a playbook needs at least one step under investigate, mitigate or fix")
        return self


class Playbook(_Model):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    name: Text
    match: Annotated[list[MatchSet], BeforeValidator(_match_sets), Field(min_length=1)]
    severity: Severity
    summary: Text
    steps: PlaybookSteps
    links: list[PlaybookLink] = []


# --- checklist -----------------------------------------------------------------------------------


class StepGroup(StrEnum):
    INVESTIGATE = "investigate"
    MITIGATE = "mitigate"
    FIX = "fix"

    @property
    def heading(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True)
class ChecklistItem:
    """One playbook step as an incident channel shows it. ``id`` is ``<group>-<n>``, 1-based."""

    playbook_id: str
    id: str
    group: StepGroup
    text: str


def checklist(playbook: Playbook) -> list[ChecklistItem]:
    """The playbook's steps in reading order: investigate, then mitigate, then fix."""
    return [
        ChecklistItem(playbook_id=playbook.id, id=f"{group.value}-{n}", group=group, text=text)
        for group in StepGroup
        for n, text in enumerate(getattr(playbook.steps, group.value), start=1)
    ]


# --- matching ------------------------------------------------------------------------------------


def _specificity(matchers: Mapping[str, str]) -> tuple[int, int]:
    exact = sum(1 for v in matchers.values() if not v.startswith("~"))
    return len(matchers), exact


def match_playbook(playbooks: Sequence[Playbook], labels: Mapping[str, str]) -> Playbook | None:
    """The playbook for an alert with these labels, or None.

    Every matcher set of every playbook is tried. The most specific matching set wins: the one
    with the most matchers, then the most exact (non-regex) matchers; so ``{alertname:
    "~ErrorRate", service: "~payment"}`` in the payments playbook beats a bare ``{alertname:
    "~ErrorRate"}`` in the error-rate one, whatever the file names. Ties go to the playbook that
    comes first in ``playbooks`` (file-name order from :func:`load_playbooks`).

    The shipped playbooks match on ``alertname``; for sources that have none (PagerDuty events,
    generic webhooks, Sentry) pass the alert title as ``alertname`` alongside the labels.
    """
    best: Playbook | None = None
    best_score = (0, 0)
    for playbook in playbooks:
        for matchers in playbook.match:
            score = _specificity(matchers)
            if score > best_score and labels_match(matchers, labels):
                best, best_score = playbook, score
    return best


# --- loading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaybookProblem:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}"


class PlaybookError(Exception):
    """One or more playbook files are invalid; ``problems`` lists every one of them."""

    def __init__(self, problems: list[PlaybookProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def report(self) -> str:
        return "\n".join([f"{len(self.problems)} playbook problem(s):", *(f"  {p}" for p in self.problems)])


Loc = tuple[str | int, ...]


def _duplicate_keys(node: yaml.Node, path: Loc, out: list[tuple[Loc, int]]) -> None:
    """YAML lets a later key silently replace an earlier one; a playbook author never means that."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            if k in seen:
                out.append(((*path, k), key.start_mark.line + 1))
            seen.add(k)
            _duplicate_keys(value, (*path, k), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicate_keys(item, (*path, i), out)


_KNOWN_KEYS = {
    (): "a playbook has name, match, severity, summary, steps and links",
    ("steps",): "steps are grouped as investigate, mitigate and fix",
    ("links", 0): "a link has text and url",
}


def _message(err: ErrorDetails) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    loc = tuple(0 if isinstance(x, int) else x for x in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown key; {_KNOWN_KEYS.get(loc[:-1], 'check its spelling')}"
    if err["type"] == "too_short" and loc == ("match",):
        return "give at least one set of label matchers, e.g. {alertname: HighErrorRate}"
    if err["type"] == "too_short" and loc[:1] == ("match",):
        return "a matcher set needs at least one label (an empty one would match nothing)"
    if err["type"] == "string_type" and isinstance(err.get("input"), (int, float, bool)):
        return f"{msg}; quote the value in YAML, e.g. \"{err['input']}\""
    if err["type"] == "string_pattern_mismatch" and err["loc"][-1] == "url":
        return "must be an http:// or https:// URL without spaces"
    if err["type"] == "string_pattern_mismatch" and err["loc"] == ("id",):
        return "the file name must be letters, digits, '-', '_' or '.' (it becomes the playbook id)"
    return msg


def _parse_file(path: Path, problems: list[PlaybookProblem]) -> Playbook | None:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(PlaybookProblem(name, None, "(file)", f"cannot read: {exc}"))
        return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        problems.append(PlaybookProblem(name, line, "(yaml)", exc.problem or str(exc)))
        return None
    if not isinstance(data, dict) or node is None:
        problems.append(PlaybookProblem(name, 1, "(top level)", "a playbook must be a mapping of keys"))
        return None

    lines: dict[Loc, int] = {}
    key_lines(node, (), lines)
    found = len(problems)
    duplicates: list[tuple[Loc, int]] = []
    _duplicate_keys(node, (), duplicates)
    for where, line in duplicates:
        problems.append(PlaybookProblem(name, line, ".".join(map(str, where)), "key appears twice"))

    stem = path.stem
    if "id" in data and data["id"] != stem:
        message = f"the id is the file name ({stem!r}); remove this key or rename the file"
        problems.append(PlaybookProblem(name, lines.get(("id",)), "id", message))
    data = {**data, "id": stem}
    match_is_mapping = isinstance(data.get("match"), Mapping)
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc: Loc = tuple(err["loc"])
            if match_is_mapping and loc[:2] == ("match", 0):
                loc = ("match", *loc[2:])  # the author wrote one mapping, not a list; point at it
            key = ".".join(map(str, loc)) or "(top level)"
            problems.append(PlaybookProblem(name, line_for(loc, lines), key, _message(err)))
        return None
    return playbook if len(problems) == found else None


def playbook_files(directory: Path) -> list[Path]:
    """Playbook files in file-name order, which is also the tie-break order for matching."""
    return sorted(
        (p for p in directory.iterdir() if p.suffix in PLAYBOOK_SUFFIXES and p.is_file()),
        key=lambda p: p.name,
    )


def load_playbooks(directory: Path) -> list[Playbook]:
    """Load and validate every ``*.yaml`` / ``*.yml`` in ``directory``, in file-name order.

    Raises PlaybookError listing every problem in every file (``file:line: key: message``), so an
    operator fixes them in one pass rather than one restart per typo.
    """
    if not directory.is_dir():
        raise PlaybookError([PlaybookProblem(str(directory), None, "(directory)",
                                             f"not a directory; set {PLAYBOOKS_ENV} to the playbook folder")])
    problems: list[PlaybookProblem] = []
    playbooks: list[Playbook] = []
    first_of: dict[str, Path] = {}
    named: dict[str, Path] = {}
    for path in playbook_files(directory):
        if path.stem in first_of:
            problems.append(PlaybookProblem(str(path), None, "(file)",
                                            f"same id as {first_of[path.stem].name}; keep one of the two"))
            continue
        first_of[path.stem] = path
        playbook = _parse_file(path, problems)
        if playbook is None:
            continue
        if playbook.name in named:
            message = f"{playbook.name!r} is already the name of {named[playbook.name].name}"
            problems.append(PlaybookProblem(str(path), None, "name", message))
            continue
        named[playbook.name] = path
        playbooks.append(playbook)
    if problems:
        raise PlaybookError(problems)
    return playbooks


def playbook_by_id(playbooks: Iterable[Playbook], playbook_id: str) -> Playbook | None:
    return next((p for p in playbooks if p.id == playbook_id), None)


# --- where the playbooks live --------------------------------------------------------------------


def playbook_search_path(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> list[Path]:
    """The candidate playbook directories, in the order :func:`default_playbook_dir` tries them."""
    env = os.environ if env is None else env
    candidates: list[Path] = []
    if env.get(PLAYBOOKS_ENV):
        candidates.append(Path(env[PLAYBOOKS_ENV]).expanduser())
    candidates.append((cwd or Path.cwd()) / "playbooks")
    candidates.append(Path(__file__).resolve().parents[2] / "playbooks")
    candidates.append(Path(sys.prefix) / "share" / "watchstander" / "playbooks")
    return candidates


def default_playbook_dir(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """The playbook directory to use; see the module docstring for the search order."""
    env = os.environ if env is None else env
    if env.get(PLAYBOOKS_ENV):
        return Path(env[PLAYBOOKS_ENV]).expanduser()
    candidates = playbook_search_path(env, cwd)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise PlaybookError([PlaybookProblem(
        "playbooks", None, "(directory)",
        "no playbook directory found (looked in " + ", ".join(map(str, candidates))
        + f"); set {PLAYBOOKS_ENV} to the folder holding the playbook YAML files",
    )])
