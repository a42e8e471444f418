"""`posko satudata …`: the Satu Data Jambi open-data portal."""

from __future__ import annotations

import click

from posko.cli.base import loglevel_option, settings, setup_logging


@click.group()
def satudata() -> None:
    """The Satu Data Jambi open-data portal (CKAN-compatible API, DCAT, downloads, pages)."""


@satudata.command("serve")
@loglevel_option
def serve(loglevel: str) -> None:
    """Serve the portal on POSKO_SATUDATA_HOST:POSKO_SATUDATA_PORT, reading Posko's ClickHouse."""
    from satudata.app import serve as run

    setup_logging(loglevel)
    config = settings()
    _ = config.satudata_agencies  # a bad POSKO_SATUDATA_TOKENS ends the command here, with its reason
    click.echo(f"Satu Data Jambi: http://{config.satudata_host}:{config.satudata_port}/", err=True)
    run(config, loglevel)


@satudata.command("datasets")
def datasets() -> None:
    """List the catalogue's datasets with their classification."""
    from satudata.catalogue import catalogue

    for dataset in catalogue().dataset:
        click.echo(f"{dataset.name}\t{dataset.classification}\t{dataset.title}")
