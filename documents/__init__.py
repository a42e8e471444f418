"""Documents made from the room's record in ClickHouse: the incident timeline and its sitrep."""
