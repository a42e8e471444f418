"""The intake's OpenAPI document as committed to the repository, and what it says about bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import msgspec
from litestar._openapi.schema_generation.plugins import StructSchemaPlugin
from litestar.openapi.spec import Schema
from litestar.typing import FieldDefinition

from posko.settings import Settings

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

COMMITTED = Path(__file__).with_name("intake.openapi.json")


class StrictBodySchema(StructSchemaPlugin):
    """Schemas of the request bodies as the intake decodes them.

    Litestar's own plugin leaves out that a Struct with forbid_unknown_fields refuses other
    properties, and that a body needs one of its `AT_LEAST_ONE_OF` fields (not null).
    """

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        """Structs that refuse unknown fields."""
        if not super().is_plugin_supported_field(field_definition):
            return False
        info = msgspec.inspect.type_info(field_definition.type_)
        return isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        """Litestar's schema, closed to other properties, with the alternatives required."""
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        hints = field_definition.get_type_hints(include_extras=True, resolve_generics=True)
        alternatives: list[Schema | object] = []
        for name in getattr(field_definition.type_, "AT_LEAST_ONE_OF", ()):
            [present] = [arg for arg in get_args(hints[name]) if arg is not type(None)]
            alternatives.append(Schema(required=[name], properties={
                name: schema_creator.for_field_definition(FieldDefinition.from_annotation(present))}))
        if alternatives:
            schema.any_of = alternatives  # type: ignore[assignment]
        return schema


def openapi_document(settings: Settings) -> str:
    """The document the app serves at /schema/openapi.json, as stable, indented JSON."""
    from connectors.intake import create_app

    schema = msgspec.json.decode(msgspec.json.encode(create_app(settings).openapi_schema.to_schema()))
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
