"""`sockdojo export …`: the module for other platforms (pwn.college's DOJO format)."""

from __future__ import annotations

from pathlib import Path

import click

from sockdojo.cli.ui import say


def _dojo_id(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from sockdojo.export import dojo_rules

    if not dojo_rules.ID.fullmatch(value):
        raise click.BadParameter("use 1-32 lowercase letters, digits or '-' (pwn.college's rule)")
    return value


def _name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from sockdojo.export import dojo_rules

    if not dojo_rules.NAME.fullmatch(value):
        raise click.BadParameter(
            "use 1-128 characters, no tabs or line breaks (pwn.college's rule)"
        )
    return value


@click.group("export")
def export() -> None:
    """Export the module to another platform."""


@export.command("pwncollege")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path, file_okay=False))
@click.option("--dojo-id", default="sockdojo", show_default=True, callback=_dojo_id,
              help="The dojo's id on pwn.college.")  # fmt: skip
@click.option("--name", default="Sockets with sockdojo", show_default=True, callback=_name,
              help="The dojo's name.")  # fmt: skip
def pwncollege(directory: Path, dojo_id: str, name: str) -> None:
    """Write a pwn.college dojo repository (dojo.yml, the module, a /challenge/run each) to DIR.

    DIR must be new or empty. Push it to a GitHub repository and add that to a DOJO.
    """
    from sockdojo.challenges import registry
    from sockdojo.export.pwncollege import export_pwncollege
    from sockdojo.machine_faults import from_os_error

    if directory.exists() and any(directory.iterdir()):
        raise click.UsageError(f"{directory} is not empty: export into a new or empty folder")
    try:
        export_pwncollege(directory, dojo_id=dojo_id, name=name)
    except OSError as error:
        problem = from_os_error(error, directory)
        if problem is None:
            raise
        raise problem from None
    say(f"Wrote the dojo {dojo_id!r} to {directory}:")
    say(f"  dojo.yml, {registry.MODULE_ID}/module.yml, {registry.MODULE_ID}/DESCRIPTION.md")
    for challenge in registry.CHALLENGES:
        say(f"  {registry.MODULE_ID}/{challenge.id}/: DESCRIPTION.md, run, sockdojo/ (our core)")
    say("Next: push it to a GitHub repository and add it to a DOJO (see the README).")


def register(cli: click.Group) -> None:
    cli.add_command(export)
