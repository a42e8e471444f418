"""`posko dss`: decision support's data files: the reference data and the playbooks, checked."""

from __future__ import annotations

from pathlib import Path

import click

from posko.cli.base import settings


@click.group()
def dss() -> None:
    """Decision support: reference data and playbooks (checked before the worker reads them)."""


@dss.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def reference(file: Path) -> None:
    """Check FILE (kabupaten/kota reference CSV) and install it under POSKO_HOME for the worker."""
    from decision.reference import install_reference, parse_reference

    target = install_reference(file, settings().home)
    rows = parse_reference(target.read_text("utf-8"), str(target))
    with_index = sum(1 for r in rows.values() if r.irbi_class is not None)
    click.echo(f"dipasang / installed {target}: {len(rows)} kabupaten/kota, {with_index} dengan indeks "
               "risiko BNPB. Mulai ulang worker agar dipakai / restart the worker to use it.")


@dss.group()
def playbooks() -> None:
    """Playbooks per hazard (decision/playbooks/, and yours under POSKO_HOME/dss/playbooks/)."""


@playbooks.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), required=False)
def check(folder: Path | None) -> None:
    """Check the playbooks of FOLDER (default: those in effect: packaged and POSKO_HOME's)."""
    from decision.playbooks import check_folder, load_playbooks

    found = check_folder(folder) if folder is not None else load_playbooks(settings().home)
    for playbook in found:
        click.echo(f"{playbook.name}: {playbook.title} ({playbook.hazard}), "
                   f"{len(playbook.rules)} aturan / rules")
    click.echo(f"{len(found)} playbook sah / valid")
