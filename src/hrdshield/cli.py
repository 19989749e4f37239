"""The ``hrdshield`` command. Help text comes from the docstrings below."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from hrdshield import migrate as migrations
from hrdshield.bus.cli import worker_command
from hrdshield.config import ConfigError, Settings, load_settings
from hrdshield.db import make_engine, make_session_factory
from hrdshield.detection.cli import ingest_command, platform_commands
from hrdshield.detection.evaluation.cli import eval_command
from hrdshield.detection.text import cli as text_commands
from hrdshield.exchange.cli import indicators as indicator_commands
from hrdshield.notify.cli import notify as notify_commands
from hrdshield.security.crypto import (
    Keyring,
    encrypted_columns,
    install_keyring,
    load_master_key,
    rotate_field_key,
)
from hrdshield.security.rbac import USER_ROLES, Principal, Role


@dataclass
class Runtime:
    """Settings, database and keys, built on first use so `--help` needs none of them."""

    overrides: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def settings(self) -> Settings:
        try:
            return load_settings(**self.overrides)
        except ConfigError as error:
            raise click.ClickException(str(error)) from error

    @cached_property
    def engine(self) -> Engine:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return make_engine(self.settings.sqlalchemy_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def keyring(self) -> Keyring:
        if not migrations.is_current(self.engine):
            raise click.ClickException("the database is not migrated; run `hrdshield migrate`")
        master = self.settings.master_key
        keyring = Keyring(
            master_key=load_master_key(
                master.get_secret_value() if master else None, self.settings.keys_dir
            ),
            session_factory=self.session_factory,
        )
        keyring.load()
        install_keyring(keyring)
        return keyring

    def close(self) -> None:
        """Release database connections opened by a command."""
        if "engine" in self.__dict__:
            self.engine.dispose()


pass_runtime = click.make_pass_decorator(Runtime)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(context: click.Context) -> None:
    """HRD Shield: protect human rights defenders from attacks online.

    Settings come from HRDSHIELD_* environment variables (see the README).
    """
    context.obj = Runtime()
    context.call_on_close(context.obj.close)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="Processes that answer requests; 0: one per CPU. [default: HRDSHIELD_WORKERS, which "
    "defaults to one per CPU]",
)
@pass_runtime
def serve(runtime: Runtime, host: str, port: int, workers: int | None) -> None:
    """Serve the web pages and the API."""
    import uvicorn  # noqa: PLC0415  (only this command needs the server)

    from hrdshield import serving  # noqa: PLC0415

    if workers is not None:
        runtime.overrides["workers"] = workers
    settings = runtime.settings
    processes = settings.serving_processes
    click.echo(
        f"HRD Shield on http://{host}:{port} with {processes} process(es)  (Ctrl+C stops it)"
    )
    if processes > 1:
        serving.serve_several(
            settings,
            host=host,
            port=port,
            session_factory=runtime.session_factory,
            keyring=runtime.keyring,
        )
        return
    from hrdshield.app import create_app  # noqa: PLC0415

    app = create_app(settings, engine=runtime.engine)
    uvicorn.run(app, host=host, port=port, **serving.uvicorn_options(settings))


@main.command()
@pass_runtime
def migrate(runtime: Runtime) -> None:
    """Create or upgrade the database schema to the newest version."""
    migrations.upgrade(runtime.engine)
    click.echo("database schema is current")


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("check")
@pass_runtime
def db_check(runtime: Runtime) -> None:
    """Fail if the models and the migrations disagree (run after `migrate`)."""
    differences = migrations.differences(runtime.engine)
    if differences:
        for difference in differences:
            click.echo(f"  {difference}", err=True)
        raise click.ClickException("models and migrations differ; write a migration")
    click.echo("models and migrations agree")


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@pass_runtime
def audit_verify(runtime: Runtime) -> None:
    """Check every link of the audit chain; exit 1 at the first broken one."""
    from hrdshield.security import audit as audit_log  # noqa: PLC0415
    from hrdshield.security.models import AuditEntry  # noqa: PLC0415

    keyring = runtime.keyring
    with runtime.session_factory() as session:
        total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        with click.progressbar(length=total, label="verifying audit log", file=sys.stderr) as bar:
            result = audit_log.verify(session, keyring, progress=bar.update)
    if not result.ok:
        click.echo(
            f"BROKEN at entry {result.broken_at}: {result.reason} "
            f"({result.checked} entries before it are intact)"
        )
        sys.exit(1)
    click.echo(f"audit log intact: {result.checked} entries verified")


@main.group()
def keys() -> None:
    """Encryption keys."""


@keys.command("rotate")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--settle-seconds",
    default=35.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="Wait before the final sweep, longer than running services cache keys.",
)
@pass_runtime
def keys_rotate(runtime: Runtime, batch_size: int, settle_seconds: float) -> None:
    """Start a new data key and re-encrypt every encrypted field under it, service running."""
    keyring = runtime.keyring
    with runtime.session_factory() as session:
        total = sum(
            session.scalar(select(func.count()).select_from(table).where(column.isnot(None))) or 0
            for table, column, _ in encrypted_columns()
        )
    with click.progressbar(length=total * 2, label="re-encrypting", file=sys.stderr) as bar:
        counts = rotate_field_key(
            keyring, batch_size=batch_size, settle_seconds=settle_seconds, progress=bar.update
        )
    click.echo(f"re-encrypted {sum(counts.values())} values under a new key; old keys retired")


@main.group()
def user() -> None:
    """People who sign in."""


@user.command("add")
@click.option("--email", required=True, help="Sign-in e-mail address.")
@click.option("--name", "display_name", required=True, help="Name shown to colleagues.")
@click.option("--role", type=click.Choice([role.value for role in USER_ROLES]), required=True)
@click.option("--organisation", "organisation_id", default=None, help="Organisation id (partners).")
@click.option("--languages", default="", help="Comma-separated languages the person works in.")
@click.option("--regions", default="", help="Comma-separated ISO country codes they cover.")
@click.password_option(prompt="Password (at least 12 characters)")
@pass_runtime
def user_add(
    runtime: Runtime,
    email: str,
    display_name: str,
    role: str,
    organisation_id: str | None,
    languages: str,
    regions: str,
    password: str,
) -> None:
    """Create a user; staff set up two-step verification at first sign-in."""
    from hrdshield.accounts import service as accounts  # noqa: PLC0415
    from hrdshield.errors import DomainError  # noqa: PLC0415

    runtime.keyring  # noqa: B018  (installs the keyring the encrypted columns use)
    try:
        with runtime.session_factory() as session, session.begin():
            created = accounts.create_user(
                session=session,
                actor=Principal.system("cli"),
                email=email,
                display_name=display_name,
                password=password,
                role=Role(role),
                organisation_id=organisation_id,
                languages=languages,
                regions=regions.upper(),
            )
            user_id = created.id
    except DomainError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"created {role} user {user_id}")
    if Role(role).is_staff:
        click.echo("two-step verification will be set up at their first sign-in")


@main.group(invoke_without_command=True)
@click.option("--force", is_flag=True, help="Seed even when HRDSHIELD_ENVIRONMENT is production.")
@click.pass_context
def demo(context: click.Context, force: bool) -> None:
    """Seed synthetic demo data (users with published passwords: never in production)."""
    if context.invoked_subcommand is not None:
        return
    runtime: Runtime = context.obj
    if runtime.settings.environment == "production" and not force:
        raise click.ClickException(
            "refusing to create demo accounts with published passwords in production; "
            "set HRDSHIELD_ENVIRONMENT=development or pass --force"
        )
    from hrdshield import demo_data as seed  # noqa: PLC0415

    runtime.keyring  # noqa: B018
    with runtime.session_factory() as session, session.begin():
        created = seed.seed_demo(session=session)
    if created:
        click.echo("demo data created")
    else:
        click.echo("demo data already present")
    click.echo(seed.credentials_text())


@demo.command("code")
def demo_code() -> None:
    """Print the current two-step code of the demo staff accounts."""
    from hrdshield import demo_data as seed  # noqa: PLC0415
    from hrdshield.security import totp  # noqa: PLC0415

    click.echo(totp.code_at(seed.DEMO_TOTP_SECRET))


main.add_command(notify_commands)
main.add_command(ingest_command)
main.add_command(worker_command)
main.add_command(eval_command)
main.add_command(platform_commands)
main.add_command(indicator_commands)
main.add_command(text_commands.classify)
main.add_command(text_commands.model)
