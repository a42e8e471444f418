"""The connectors' memory files: saved whole or not at all, and read back with a clear error."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from connectors.fetch import Validators
from connectors.state import StateFileError, load_json, save_json


def test_save_replaces_the_file_whole_and_leaves_no_partial(tmp_path: Path) -> None:
    path = tmp_path / "connectors" / "memory.json"
    save_json(path, {"a": Validators(etag='"1"')})
    save_json(path, {"b": Validators(etag='"2"')})
    assert load_json(path, dict[str, Validators]) == {"b": Validators(etag='"2"')}
    assert sorted(p.name for p in path.parent.iterdir()) == ["memory.json"]


def test_a_save_that_fails_before_the_replace_leaves_the_old_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "memory.json"
    save_json(path, ["old"])
    before = path.read_bytes()
    with pytest.raises(TypeError):  # msgspec cannot encode an arbitrary object: the save dies midway
        save_json(path, ["new", object()])
    assert path.read_bytes() == before
    assert load_json(path, list[str]) == ["old"]


def test_a_partial_file_left_by_a_crash_does_not_count_and_is_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "memory.json"
    save_json(path, ["old"])
    (tmp_path / "memory.json.partial").write_bytes(b'["new", "cut o')  # died while writing
    assert load_json(path, list[str]) == ["old"]
    save_json(path, ["new"])
    assert load_json(path, list[str]) == ["new"]
    assert not (tmp_path / "memory.json.partial").exists()


def test_a_missing_file_is_an_empty_memory(tmp_path: Path) -> None:
    assert load_json(tmp_path / "never-saved.json", list[str]) is None


def test_an_unreadable_memory_file_names_itself_and_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "memory.json"
    path.write_bytes(msgspec.json.encode({"not": "a list"}))
    with pytest.raises(StateFileError, match=r"memory\.json.*move the file away"):
        load_json(path, list[str])
