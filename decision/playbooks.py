"""Playbooks: per hazard, the standard response actions and when they are due, as TOML data files.

The packaged ones are in decision/playbooks/<name>.toml, each citing the BNPB/BPBD guidance it
follows; an operator's own in `<POSKO_HOME>/dss/playbooks/` replace a packaged one of the same file
name or add to them. A file is checked whole (unknown fields, a bad hazard, a bad duration, an
unknown trigger, a rule following one that does not exist) and refused with its line and the reason.
"""

from __future__ import annotations

import enum
import re
import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from posko.errors import PoskoError
from schemas.incidents import Hazard
from schemas.sectors import INDICATORS

INSTALLED = "dss/playbooks"  # under POSKO_HOME
WARNING_LEVELS = ("Waspada", "Siaga", "Awas")  # BPBD's warning levels, lowest first
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|h|d)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class PlaybookError(PoskoError, ValueError):
    """A playbook file that cannot be used: the file, the line and why."""


class Trigger(enum.StrEnum):
    """What makes a rule fire for an incident in a region."""

    INCIDENT = "incident"  # an open incident of the hazard (from its first signal)
    WARNING = "warning"  # an official warning at `level` or higher (Waspada < Siaga < Awas)
    INDICATOR = "indicator"  # a reading of `indicator` at or above `at_least`
    VICTIMS = "victims"  # a report with victims
    REPORTS = "reports"  # at least `at_least` citizen reports from the region
    MAGNITUDE = "magnitude"  # an official quake alert of magnitude `at_least` or more
    AFTER = "after"  # the rule `after` fired: counted from its deadline


Duration = Annotated[str, Meta(pattern=_DURATION.pattern)]
RuleId = Annotated[str, Meta(pattern=r"^[a-z0-9-]{1,48}$")]


class Rule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One standard action and the timing rule that makes it due."""

    id: RuleId
    action: Annotated[str, Meta(min_length=1, max_length=200)]
    assignee: str = ""
    trigger: Trigger
    due: Duration  # after the trigger: 30m, 6h, 1d
    level: Literal["Waspada", "Siaga", "Awas"] | None = None
    indicator: str | None = None
    at_least: float | None = None
    after: RuleId | None = None
    # A task of the incident or region whose title holds one of these covers the action.
    task_words: list[str] = []
    # An emergency status (other than normal) decided for the region covers it.
    covered_by_status: bool = False
    source: Annotated[str, Meta(min_length=1)]  # the guidance it follows

    @property
    def delay(self) -> timedelta:
        """The due duration."""
        found = _DURATION.match(self.due)
        assert found is not None  # the pattern was checked on decoding
        return timedelta(**{_UNITS[found.group(2)]: float(found.group(1))})


class Playbook(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A hazard's playbook file."""

    name: RuleId  # the file's stem; rule ids are <name>.<rule>
    title: str
    hazard: Hazard
    # Incidents of the hazard it is for must name one of these (erupsi among `lainnya`).
    words: list[str] = []
    sources: Annotated[list[str], Meta(min_length=1)]
    rules: Annotated[list[Rule], Meta(min_length=1)]

    def rule_id(self, rule: Rule) -> str:
        """The rule's id across playbooks, e.g. banjir.kaji-cepat."""
        return f"{self.name}.{rule.id}"


def parse_playbook(text: str, where: str) -> Playbook:
    """A playbook from its TOML; PlaybookError names the file, the line and the reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlaybookError(f"{where}: TOML tidak sah / not valid TOML: {exc}") from None
    try:
        playbook = msgspec.convert(data, Playbook)
    except msgspec.ValidationError as exc:
        path = str(exc).rsplit(" - at ", 1)[-1] if " - at " in str(exc) else "$"
        unknown = re.search(r"unknown field `([^`]+)`", str(exc))
        line = _line_of(text, path, unknown.group(1) if unknown else None)
        hint = " (durasi seperti 30m, 6h, 1d / a duration like 30m, 6h, 1d)" if path.endswith(".due`") else ""
        raise PlaybookError(f"{where}:{line}: {exc}{hint} / fix the value at {path}") from None
    seen: set[str] = set()
    for n, rule in enumerate(playbook.rules):
        reason = _semantic_error(rule, seen)
        if reason:
            raise PlaybookError(f"{where}:{_line_of(text, f'$.rules[{n}].id')}: aturan {rule.id}: {reason}")
        seen.add(rule.id)
    return playbook


def _semantic_error(rule: Rule, earlier: set[str]) -> str:
    """What is wrong with a rule beyond its types, or ''."""
    if rule.id in earlier:
        return "id dipakai dua kali / the rule id is used twice"
    if rule.trigger is Trigger.WARNING and rule.level is None:
        return "pemicu warning perlu level (Waspada, Siaga, Awas) / a warning trigger needs a level"
    if rule.trigger is Trigger.INDICATOR and (rule.indicator not in INDICATORS or rule.at_least is None):
        return (f"pemicu indicator perlu indicator yang dikenal dan at_least / an indicator trigger needs "
                f"a known indicator ({', '.join(sorted(INDICATORS))}) and at_least")
    if rule.trigger in (Trigger.REPORTS, Trigger.MAGNITUDE) and rule.at_least is None:
        return f"pemicu {rule.trigger} perlu at_least / a {rule.trigger} trigger needs at_least"
    if rule.trigger is Trigger.AFTER and rule.after not in earlier:
        return (f"after = {rule.after!r} bukan aturan sebelumnya di berkas ini / after must name an "
                "earlier rule of this file")
    return ""


def _line_of(text: str, path: str, key: str | None = None) -> int:
    """The line of `$.rules[2].due` (or of an unknown `key` there) in the TOML text; 1 when unsure."""
    lines = text.splitlines()
    steps = re.findall(r"\.(\w+)|\[(\d+)\]", path)
    start, table = 0, ""
    names = [name for name, _ in steps if name]
    field = key or (names[-1] if names else None)
    if steps and steps[0][0] and len(steps) > 1 and steps[1][1]:
        table, index = steps[0][0], int(steps[1][1])
        headers = [n for n, line in enumerate(lines) if line.strip() == f"[[{table}]]"]
        if index < len(headers):
            start = headers[index]
            if field == table:
                return start + 1
    end = next((n for n, line in enumerate(lines) if n > start and line.strip().startswith("[")), len(lines))
    for n in range(start, end if table else len(lines)):
        if field and re.match(rf"\s*{re.escape(field)}\s*=", lines[n]):
            return n + 1
    return start + 1


def packaged_playbooks() -> dict[str, str]:
    """The playbook files shipped with Posko, by file name."""
    folder = resources.files("decision").joinpath("playbooks")
    return {entry.name: entry.read_text("utf-8") for entry in folder.iterdir()
            if entry.name.endswith(".toml")}


def check_folder(folder: Path) -> list[Playbook]:
    """Every playbook of a folder, checked (PlaybookError at the first bad one)."""
    if not folder.is_dir():
        raise PlaybookError(f"{folder}: bukan folder / not a folder of playbooks (*.toml)")
    return [_named(parse_playbook(path.read_text("utf-8"), str(path)), path.stem, str(path))
            for path in sorted(folder.glob("*.toml"))]


def load_playbooks(home: str | Path) -> list[Playbook]:
    """The playbooks in effect: the packaged ones, with the operator's of the same file name instead."""
    files = {name: (text, f"decision/playbooks/{name}") for name, text in packaged_playbooks().items()}
    own = Path(home) / INSTALLED
    if own.is_dir():
        files |= {path.name: (path.read_text("utf-8"), str(path)) for path in sorted(own.glob("*.toml"))}
    return [_named(parse_playbook(text, where), Path(name).stem, where)
            for name, (text, where) in sorted(files.items())]


def _named(playbook: Playbook, stem: str, where: str) -> Playbook:
    if playbook.name != stem:
        raise PlaybookError(f"{where}: name = {playbook.name!r} harus sama dengan nama berkas / must be the "
                            f"file name ({stem!r})")
    return playbook
