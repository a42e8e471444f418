"""What every `posko` command shares: the settings, logging, and how errors reach the user."""

from __future__ import annotations

import logging

import click

from posko.errors import PoskoError
from posko.settings import Settings, SettingsError, load_settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# --loglevel of the services that log through the standard library (sink, gateway).
loglevel_option = click.option("--loglevel", default="warning")


class PoskoGroup(click.Group):
    """The `posko` group: a PoskoError from any command ends it with its message and exit 1."""

    def invoke(self, ctx: click.Context) -> object:
        """Run the command, turning a PoskoError into a one-line error instead of a traceback."""
        try:
            return super().invoke(ctx)
        except PoskoError as exc:
            raise click.ClickException(str(exc)) from exc


def settings() -> Settings:
    """The settings from POSKO_* variables; a bad one ends the command with its reason."""
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def setup_logging(level: str) -> None:
    """Log to stderr from `level` up (debug, info, warning, error)."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
