"""The ``hrdshield indicators`` commands; registered on the main command by ``hrdshield.cli``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from hrdshield.cli import Runtime


@click.group()
def indicators() -> None:
    """Spyware and phishing indicator feeds (STIX 2.1 bundles)."""


def report_lines(report: dict[str, Any]) -> list[str]:
    """Return an import report as the lines the command prints."""
    lines = [
        f"source {report['source_name']!r}: {report['read']} indicators read from "
        f"{report['bundle_id']}",
        f"  imported {report['imported']}, updated {report['updated']}, unchanged "
        f"{report['unchanged']}, revoked {report['revoked']}, skipped {report['skipped']}",
    ]
    if report["values_by_type"]:
        lines.append("  values imported by type:")
        lines += [f"    {kind:<14} {count}" for kind, count in report["values_by_type"].items()]
    if report["skipped_by"]:
        lines.append("  not imported, by type and reason:")
        lines += [
            f"    {skip['type']:<14} {skip['count']:>5}  {skip['description']}"
            for skip in report["skipped_by"]
        ]
    return lines


@indicators.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--source",
    default=None,
    help="Name of the feed (default: the malware the bundle describes).",
)
@click.pass_obj
def import_command(runtime: Runtime, file: Path, source: str | None) -> None:
    """Import a STIX 2.1 bundle's indicators; print what was imported and skipped, by type.

    Importing the same bundle again changes nothing; a newer version of an indicator replaces
    the old one, and a revoked one stops matching.
    """
    from hrdshield.errors import DomainError  # noqa: PLC0415  (keeps `--help` light)
    from hrdshield.exchange import service, stix  # noqa: PLC0415
    from hrdshield.security.rbac import Principal  # noqa: PLC0415

    if file.stat().st_size > stix.MAX_BUNDLE_BYTES:
        raise click.ClickException(f"{file}: the bundle is over {stix.MAX_BUNDLE_BYTES:,} bytes")
    data = file.read_bytes()
    runtime.keyring  # noqa: B018  (installs the keyring the audit log signs with)
    try:
        bundle = stix.parse_bundle(data)
        with (
            runtime.session_factory() as session,
            session.begin(),
            click.progressbar(
                length=len(bundle.indicators), label="importing", file=sys.stderr
            ) as bar,
        ):
            report = service.import_parsed(
                session=session,
                actor=Principal.system("cli"),
                bundle=bundle,
                source_name=source,
                progress=bar.update,
            )
    except DomainError as error:
        raise click.ClickException(f"{file}: {error.detail}") from error
    for line in report_lines(report.as_dict()):
        click.echo(line)


@indicators.command("list")
@click.pass_obj
def list_command(runtime: Runtime) -> None:
    """Summarise the indicator feeds: indicators, values by type and the last import."""
    from hrdshield.exchange import service  # noqa: PLC0415

    runtime.keyring  # noqa: B018  (says so plainly when the database is not migrated)
    with runtime.session_factory() as session:
        summaries = service.list_sources(session=session)
        if not summaries:
            click.echo("no indicator feed has been imported yet")
            return
        for summary in summaries:
            source = summary.source
            last = source.last_import_at
            when = last.strftime("%Y-%m-%d %H:%M UTC") if last else "-"
            by_type = ", ".join(f"{kind} {count}" for kind, count in summary.values_by_type.items())
            click.echo(
                f"{source.name}: {summary.active} active of {summary.indicators} indicators"
                f" ({by_type or 'no values'}); imports: {source.imports}, last {when}"
            )
