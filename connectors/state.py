"""The connectors' memory files under $POSKO_HOME/connectors/: JSON, read at start, replaced whole."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import msgspec

from posko.errors import PoskoError
from posko.settings import Settings

T = TypeVar("T")


def state_path(settings: Settings, name: str) -> Path:
    """Where a connector keeps its memory file `name`."""
    return Path(settings.home) / "connectors" / name


class StateFileError(PoskoError, ValueError):
    """A memory file that cannot be read; the message says which and what to do."""


def load_json(path: Path, as_type: type[T]) -> T | None:
    """The content of a memory file, or None when there is none yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return msgspec.json.decode(data, type=as_type)
    except msgspec.DecodeError as exc:  # ValidationError is one too
        raise StateFileError(f"cannot read the connector memory {path}: {exc}; move the file away to "
                             "start afresh (what it remembered is published again)") from exc


def save_json(path: Path, data: object) -> None:
    """Replace the file with `data` as JSON, atomically: a crash leaves the old file or the new one."""
    encoded = msgspec.json.encode(data)  # first: a value that cannot be encoded leaves the file as it was
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        handle.write(encoded)
        handle.flush()
        # On disk before the rename, so that after a power cut the name never points at
        # a file whose blocks were not written yet.
        os.fsync(handle.fileno())
    partial.replace(path)
