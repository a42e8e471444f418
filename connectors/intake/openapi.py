"""The intake's OpenAPI document as committed to the repository."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from posko.settings import Settings

# In the repository beside the other docs, not in the package: only its test reads it.
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "api" / "intake.openapi.json"


def openapi_document(settings: Settings) -> str:
    """The document the app serves at /schema/openapi.json, as stable, indented JSON."""
    from connectors.intake.app import create_app

    schema = msgspec.json.decode(msgspec.json.encode(create_app(settings).openapi_schema.to_schema()))
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
