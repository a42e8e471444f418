"""The OpenAPI schemas of the intake's request bodies, as strict as the intake decodes them."""

from __future__ import annotations

from typing import TYPE_CHECKING, get_args

import msgspec
from litestar._openapi.schema_generation.plugins import StructSchemaPlugin
from litestar.openapi.spec import Schema
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator


class StrictBodySchema(StructSchemaPlugin):
    """Schemas of the request bodies as the intake decodes them.

    Litestar's own plugin leaves out that a Struct with forbid_unknown_fields refuses other
    properties, and that a body needs one of its `AT_LEAST_ONE_OF` fields (not null). Litestar 2
    has that plugin only in a private module; a change there shows as a difference from the
    committed OpenAPI document (tests/test_intake.py).
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
