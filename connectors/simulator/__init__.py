"""The simulator: realistic citizen reports, alerts, permits and sector readings for demos and tests."""
