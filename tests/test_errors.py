"""One exception tree: every exception class Posko defines derives from posko.errors.PoskoError."""

from __future__ import annotations

import importlib
import inspect

import pytest

from posko.errors import PoskoError
from tests.test_layout import modules

SOURCE_PACKAGES = ("posko", "schemas", "connectors", "streams", "sinks", "grafana", "satudata", "bench")


def _exception_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for name in sorted(modules()):
        if name.split(".")[0] not in SOURCE_PACKAGES or name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        found.extend(value for _, value in inspect.getmembers(module, inspect.isclass)
                     if issubclass(value, BaseException) and value.__module__ == name)
    return found


def test_every_posko_exception_derives_from_posko_error() -> None:
    classes = _exception_classes()
    assert len(classes) >= 10  # the walk found them: settings, store, broker, tokens, …
    assert [f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, PoskoError)] == []


def test_posko_error_catches_a_settings_error_and_it_stays_a_value_error() -> None:
    from posko.settings import load_settings

    with pytest.raises(PoskoError) as caught:
        _ = load_settings({"POSKO_KAFKA": "localhost:9092"}).bootstrap_servers
    assert isinstance(caught.value, ValueError) and "kafka://host:port" in str(caught.value)
