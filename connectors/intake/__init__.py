"""The citizen report intake: an HTTP API where channels submit reports and officers move them along."""
