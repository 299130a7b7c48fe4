"""Reading the YAML config: ``${NAME}`` substitution from the environment, and validation errors
that name the line and the key and carry a fix hint, because the person reading them is an
operator at a terminal, not a Python developer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.config.schema import Config


@dataclass(frozen=True)
class ConfigProblem:
    line: int | None
    key: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        hint = f"\n    hint: {self.hint}" if self.hint else ""
        return f"{where}{self.key}: {self.message}{hint}"


class ConfigError(Exception):
    def __init__(self, path: str, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(str(p) for p in problems))

    def report(self) -> str:
        lines = [f"{self.path}: {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def env_references(text: str) -> set[str]:
    """Names of the environment variables a config text references as ``${NAME}``."""
    return set(_ENV_REF.findall(text))


def key_lines(node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]) -> None:
    """Record the line of every key path, so validation errors can point at it."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            out[(*path, k)] = key.start_mark.line + 1
            key_lines(value, (*path, k), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key_lines(item, (*path, i), out)


def _substitute(value: object, env: Mapping[str, str], path: tuple[str | int, ...],
                missing: list[tuple[tuple[str | int, ...], str]]) -> object:
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                missing.append((path, name))
                return ""
            return env[name]
        return _ENV_REF.sub(repl, value)
    if isinstance(value, dict):
        return {k: _substitute(v, env, (*path, k), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env, (*path, i), missing) for i, v in enumerate(value)]
    return value


_HINTS = {
    "extra_forbidden": "remove it, or check its spelling against the config reference in README.md",
    "missing": "add this key",
    "string_pattern_mismatch": "check the format",
}


def line_for(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def parse_config(text: str, *, path: str = "<config>", env: Mapping[str, str] | None = None) -> Config:
    """Parse and validate config text; raise ConfigError listing every problem with its line."""
    env = os.environ if env is None else env
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(path, [ConfigProblem(line, "(yaml)", exc.problem or str(exc),
                                               "fix the YAML syntax (indentation, quotes, colons)")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path, [ConfigProblem(1, "(top level)", "the config must be a mapping of keys")])
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        key_lines(node, (), lines)
    missing: list[tuple[tuple[str | int, ...], str]] = []
    data = _substitute(data, env, (), missing)
    problems = [
        ConfigProblem(line_for(p, lines), ".".join(map(str, p)), f"environment variable {name} is not set",
                      f"export {name}=… before starting, or remove the reference")
        for p, name in missing
    ]
    missing_paths = {p for p, _ in missing}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x[0].isupper() and "[" in x))
            # Unions report the member type in loc (e.g. 'RotationSchedule'); drop those names.
            loc = tuple(x for x in loc if not (isinstance(x, str) and x in ("RotationSchedule", "IcalSchedule")))
            msg = err["msg"].removeprefix("Value error, ")
            if not loc and "\n" in msg:
                for part in msg.split("\n"):
                    key, _, text_ = part.partition(": ")
                    keyloc = tuple(int(x) if x.isdigit() else x for x in key.split("."))
                    problems.append(ConfigProblem(line_for(keyloc, lines), key, text_))
                continue
            if not loc and ": " in msg and msg.split(": ", 1)[0].split(".")[0] in Config.model_fields:
                key, _, text_ = msg.partition(": ")
                keyloc = tuple(int(x) if x.isdigit() else x for x in key.split("."))
                problems.append(ConfigProblem(line_for(keyloc, lines), key, text_))
                continue
            if loc in missing_paths:
                continue  # already reported as the unset environment variable
            problems.append(ConfigProblem(line_for(loc, lines), ".".join(map(str, loc)) or "(top level)",
                                          msg, _HINTS.get(err["type"], "")))
        raise ConfigError(path, _dedupe(problems)) from None
    if problems:
        raise ConfigError(path, problems)
    return config


def _dedupe(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    seen: set[tuple[int | None, str, str]] = set()
    out = []
    for p in problems:
        if (p.line, p.key, p.message) not in seen:
            seen.add((p.line, p.key, p.message))
            out.append(p)
    return out


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(p), [ConfigProblem(None, "(file)", "file not found",
                                                 "create it (the README's Configuration section has an example) or set WATCHSTANDER_CONFIG")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(p), [ConfigProblem(None, "(file)", f"cannot read: {exc}")]) from None
    return parse_config(text, path=str(p), env=env)
