"""The `hub` command line (DESIGN §5).

Every command accepts `--config FILE` (default: `hub.toml` in the working directory if
present). Bad configuration or input prints one line naming the field and exits 2, having
written nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import structlog

from hub.logging import configure_logging
from hub.scopes import ScopeError, parse_scope
from hub.settings import ConfigError, HubSettings, load_settings

log = structlog.get_logger(__name__)

EXIT_USAGE = 2
# `hub sync --once` delivers what is due after reading, in at most this many dispatcher passes.
MAX_DISPATCH_PASSES = 50
F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"hub: {message}", err=True)
    sys.exit(code)


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Configuration file (default: hub.toml in the working directory, if present).",
    )(func)


def _settings(config_path: Path | None, **overrides: Any) -> HubSettings:
    try:
        settings = load_settings(config_path, **overrides)
    except ConfigError as exc:
        _fail(f"config error: {exc}")
    configure_logging(settings.logging.level, settings.logging.format)
    return settings


def _run(coro: Coroutine[Any, Any, int]) -> NoReturn:
    sys.exit(asyncio.run(coro))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="attendance-hub")
def main() -> None:
    """attendance-hub: attendance, dual registration, roll deletions and CME across systems."""


# --- run --------------------------------------------------------------------------------


@main.command()
@config_option
@click.option(
    "--worker",
    is_flag=True,
    help="A worker: sync leases and the outbox dispatcher, with the API only on an ephemeral "
    "loopback port (health and metrics); run several beside one `hub run` on PostgreSQL.",
)
def run(config_path: Path | None, worker: bool) -> None:
    """Run the service: the HTTP API, the sync scheduler and the outbox dispatcher."""
    settings = _settings(config_path)
    if worker:
        # Workers share the sync leases and the outbox (SKIP LOCKED) on one PostgreSQL; the
        # public API is one `hub run` (docs/performance.md, Scale-out).
        settings = settings.model_copy(
            update={
                "api": settings.api.model_copy(update={"host": "127.0.0.1", "port": 0}),
                "sync": settings.sync.model_copy(update={"enabled": True}),
                "outbox": settings.outbox.model_copy(update={"enabled": True}),
            }
        )
    _run(_run_service(settings))


async def _run_service(settings: HubSettings) -> int:
    from hub.engine.scheduler import run_hub
    from hub.runtime import HubRuntime
    from hub.service import ListenError

    runtime = await HubRuntime.open(settings)
    try:
        await run_hub(runtime)
    except ListenError as exc:
        _fail(str(exc.strerror), 1)
    finally:
        await runtime.close()
    return 0


# --- demo -------------------------------------------------------------------------------


@main.command()
@config_option
@click.option("--no-serve", is_flag=True, help="Exit after the story instead of serving the API.")
@click.option("--port", type=int, default=None, help="API port (default: the configured one).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".hub-demo"),
    show_default=True,
    help="Where the demo's SQLite database lives (recreated on each run).",
)
def demo(config_path: Path | None, no_serve: bool, port: int | None, data_dir: Path) -> None:
    """Everything on loopback with a synthetic LA: no real data."""
    from hub.demo import run_demo

    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "demo.db"
    for leftover in data_dir.glob("demo.db*"):
        leftover.unlink()
    overrides: dict[str, Any] = {"database_url": f"sqlite+aiosqlite:///{db}", "auto_migrate": True}
    if "HUB_LOGGING__LEVEL" not in os.environ:
        # The narration is the demo's output; log lines only for problems.
        overrides["logging"] = {"level": "WARNING"}
    settings = _settings(config_path, **overrides)
    if port is not None:
        settings = settings.model_copy(
            update={"api": settings.api.model_copy(update={"port": port})}
        )
    _run(run_demo(settings, serve_api=not no_serve))


# --- db ---------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@config_option
@click.option("--revision", default="head", show_default=True)
def db_upgrade(config_path: Path | None, revision: str) -> None:
    """Apply pending migrations."""
    from hub.store import migrate

    settings = _settings(config_path)

    async def go() -> int:
        before = await migrate.current_revision(settings.database_url)
        await migrate.upgrade(settings.database_url, revision)
        after = await migrate.current_revision(settings.database_url)
        click.echo(f"database at revision {after} (was {before or 'empty'})")
        return 0

    _run(go())


# --- plugins ----------------------------------------------------------------------------


@main.group()
def plugins() -> None:
    """Installed adapter plugins."""


@plugins.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_list(config_path: Path | None, as_json: bool) -> None:
    """List plugins found through the `attendance_hub.plugins` entry points."""
    from hub.plugins import PluginHost

    settings = _settings(config_path)
    host = PluginHost()
    host.load(allow=settings.plugins.allow, block=settings.plugins.block)
    inventory = [info.as_dict() for info in host.inventory()]
    if as_json:
        click.echo(json.dumps(inventory, indent=2, sort_keys=True))
        return
    for item in inventory:
        adapters = ", ".join(item.get("adapters") or []) or "-"
        line = f"{item['name']:<12} {item['status']:<8} {item.get('version') or '':<8} {adapters}"
        if item.get("reason"):
            line += f"  ({item['reason']})"
        click.echo(line)


# --- token ------------------------------------------------------------------------------


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@config_option
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help="admin, la:<LA code> or setting:<id>; repeat for several.",
)
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@click.option(
    "--expires-in-days",
    type=click.IntRange(min=1),
    default=None,
    help="Expire the token after this many days (default: never).",
)
def token_create(
    config_path: Path | None, scopes: tuple[str, ...], name: str, expires_in_days: int | None
) -> None:
    """Create a token; the token is printed alone on the last line (stored only hashed)."""
    try:
        parsed = [str(parse_scope(s)) for s in scopes]
    except ScopeError as exc:
        _fail(f"--scope: {exc}")
    settings = _settings(config_path)

    async def go() -> int:
        from hub.runtime import HubRuntime
        from hub.store.tokens import TokenRepository

        runtime = await HubRuntime.open(settings)
        try:
            now = dt.datetime.now(dt.UTC)
            expires = now + dt.timedelta(days=expires_in_days) if expires_in_days else None
            async with runtime.sessions.begin() as session:
                plaintext, info = await TokenRepository(session).create(
                    name=name, scopes=parsed, expires_at=expires, now=now
                )
            click.echo(f"token {info.id} ({name}) scopes: {' '.join(parsed)}", err=True)
            click.echo(plaintext)
        finally:
            await runtime.close()
        return 0

    _run(go())


@token.command("list")
@config_option
def token_list(config_path: Path | None) -> None:
    """List tokens: id, name, scopes, created, expiry and whether revoked (never the token)."""
    settings = _settings(config_path)

    async def go() -> int:
        from hub.runtime import HubRuntime
        from hub.store.tokens import TokenRepository

        runtime = await HubRuntime.open(settings)
        try:
            async with runtime.sessions() as session:
                tokens = await TokenRepository(session).list()
        finally:
            await runtime.close()
        now = dt.datetime.now(dt.UTC)
        for info in tokens:
            if info.revoked_at is not None:
                state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}Z"
            elif info.expires_at is not None and not info.active(now):
                state = f"expired {info.expires_at:%Y-%m-%d}"
            else:
                state = "active" + (
                    f" until {info.expires_at:%Y-%m-%d}" if info.expires_at is not None else ""
                )
            click.echo(
                f"{info.id:>5}  {info.name:<20} {' '.join(info.scopes):<30} "
                f"created {info.created_at:%Y-%m-%d}  {state}"
            )
        return 0

    _run(go())


@token.command("revoke")
@config_option
@click.argument("token_id", type=click.IntRange(min=1))
def token_revoke(config_path: Path | None, token_id: int) -> None:
    """Revoke token TOKEN_ID (from `hub token list`) at once; exits 1 if there is no such
    active token."""
    settings = _settings(config_path)

    async def go() -> int:
        from hub.runtime import HubRuntime
        from hub.store.tokens import TokenRepository

        runtime = await HubRuntime.open(settings)
        try:
            async with runtime.sessions.begin() as session:
                revoked = await TokenRepository(session).revoke(
                    token_id, now=dt.datetime.now(dt.UTC)
                )
        finally:
            await runtime.close()
        if not revoked:
            click.echo(f"error: no active token {token_id}", err=True)
            return 1
        click.echo(f"token {token_id} revoked", err=True)
        return 0

    _run(go())


# --- sync -------------------------------------------------------------------------------


@main.command()
@config_option
@click.option("--once", is_flag=True, help="Run one pass of every enabled connection and exit.")
def sync(config_path: Path | None, once: bool) -> None:
    """Sync connections: one line per connection and stream; exit 1 if any failed."""
    if not once:
        _fail("sync: only --once is supported here; `hub run` syncs continuously")
    settings = _settings(config_path)

    async def go() -> int:
        from hub.engine import worker_id
        from hub.engine.destinations import Destinations
        from hub.engine.dispatcher import Dispatcher
        from hub.engine.sync import SyncEngine
        from hub.runtime import HubRuntime

        runtime = await HubRuntime.open(settings)
        destinations = Destinations(settings, runtime.plugins)
        try:
            engine = SyncEngine(
                settings=settings,
                sessions=runtime.sessions,
                destinations=destinations,
                owner=worker_id(settings),
                rules=runtime.rules,
            )
            reports = await engine.sync_once()
            # One pass is both ways: what the rules produced from this read (write-backs,
            # returns, alerts) is delivered now, until nothing more is due (bounded).
            dispatcher = Dispatcher(
                settings=settings,
                sessions=runtime.sessions,
                destinations=destinations,
                owner=worker_id(settings),
            )
            delivered = retried = dead = 0
            for _ in range(MAX_DISPATCH_PASSES):
                summary = await dispatcher.dispatch_once()
                delivered += summary.delivered
                retried += summary.retried
                dead += summary.dead
                if summary.claimed == 0:
                    break
        finally:
            await destinations.close()
            await runtime.close()
        if not reports:
            click.echo("no enabled connections to sync")
        for report in reports:
            for line in report.lines():
                click.echo(line)
        click.echo(f"outbox: {delivered} delivered, {retried} to retry, {dead} dead-lettered")
        return 1 if any(r.failed for r in reports) else 0

    _run(go())


# --- backfill ---------------------------------------------------------------------------


@main.command()
@config_option
@click.option(
    "--from", "date_from", required=True, type=click.DateTime(["%Y-%m-%d"]), metavar="DATE"
)
@click.option(
    "--to",
    "date_to",
    default=None,
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="DATE",
    help="Last date (default: 31 August after --from, or today if earlier).",
)
@click.option("--connection", default=None, help="Only this connection (default: every one).")
def backfill(
    config_path: Path | None,
    date_from: dt.datetime,
    date_to: dt.datetime | None,
    connection: str | None,
) -> None:
    """Read marks from DATE from every connection that reads them, a page per transaction
    (resumable: run it again to carry on); exit 1 if any connection did not finish."""
    from hub.backfill import exit_code, run_backfill

    settings = _settings(config_path)

    async def go() -> int:
        try:
            reports = await run_backfill(
                settings,
                start=date_from.date(),
                end=None if date_to is None else date_to.date(),
                connection=connection,
                echo=click.echo,
            )
        except ConfigError as exc:
            _fail(f"backfill: {exc}")
        return exit_code(reports)

    _run(go())


# --- dlq --------------------------------------------------------------------------------


@main.group()
def dlq() -> None:
    """Dead letters: deliveries the outbox gave up on."""


@dlq.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all", "include_replayed", is_flag=True, help="Include replayed letters.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
def dlq_list(config_path: Path | None, as_json: bool, include_replayed: bool, limit: int) -> None:
    """List dead letters: id, kind, connection/recipient, reason, created_at."""
    settings = _settings(config_path)

    async def go() -> int:
        from hub.runtime import HubRuntime
        from hub.store import DeadLetterRepository, OutboxRepository

        runtime = await HubRuntime.open(settings)
        try:
            async with runtime.sessions() as session:
                letters = await DeadLetterRepository(session).list(
                    include_replayed=include_replayed, limit=limit
                )
                rows = []
                for letter in letters:
                    item = await OutboxRepository(session).get(letter.outbox_id)
                    rows.append(
                        {
                            "id": letter.id,
                            "outbox_id": letter.outbox_id,
                            "kind": None if item is None else item.kind,
                            "connection": None if item is None else item.connection,
                            "recipient": None if item is None else item.recipient,
                            "idempotency_key": None if item is None else item.idempotency_key,
                            "attempts": None if item is None else item.attempts,
                            "reason": letter.reason,
                            "created_at": letter.created_at.isoformat(),
                            "replayed_at": (
                                None
                                if letter.replayed_at is None
                                else letter.replayed_at.isoformat()
                            ),
                        }
                    )
        finally:
            await runtime.close()
        if as_json:
            click.echo(json.dumps(rows, indent=2, sort_keys=True))
            return 0
        if not rows:
            click.echo("no dead letters")
            return 0
        click.echo(
            f"{'ID':>5}  {'KIND':<12} {'CONNECTION / RECIPIENT':<32} {'CREATED AT':<25} REASON"
        )
        for row in rows:
            target = f"{row['connection'] or '-'} / {row['recipient'] or '-'}"
            reason = str(row["reason"]).splitlines()[0] if row["reason"] else ""
            if len(reason) > 100:
                reason = reason[:99] + "…"
            click.echo(
                f"{row['id']:>5}  {row['kind'] or '-':<12} {target:<32} "
                f"{row['created_at']:<25} {reason}"
            )
        return 0

    _run(go())


@dlq.command("replay")
@config_option
@click.argument("letter_id", metavar="ID", type=int)
def dlq_replay(config_path: Path | None, letter_id: int) -> None:
    """Put dead letter ID back in the outbox, due now, with its original idempotency key."""
    settings = _settings(config_path)

    async def go() -> int:
        from hub.engine.routing import NOTIFICATION
        from hub.runtime import HubRuntime
        from hub.store import (
            ConflictError,
            DeadLetterRepository,
            NotFoundError,
            NotificationRepository,
        )
        from hub_contracts import NotificationStatus

        runtime = await HubRuntime.open(settings)
        try:
            async with runtime.sessions.begin() as session:
                item = await DeadLetterRepository(session).replay(
                    letter_id, now=dt.datetime.now(dt.UTC)
                )
                notification_id = item.payload.get("notification_id")
                if item.kind == NOTIFICATION and isinstance(notification_id, str):
                    await NotificationRepository(session).set_status(
                        notification_id, NotificationStatus.PENDING
                    )
        except NotFoundError:
            click.echo(
                f"hub: dlq replay: no dead letter with id {letter_id} (see `hub dlq list`)",
                err=True,
            )
            return EXIT_USAGE
        except ConflictError as exc:
            click.echo(f"hub: dlq replay: {exc}", err=True)
            return EXIT_USAGE
        finally:
            await runtime.close()
        click.echo(
            f"dead letter {letter_id} replayed: outbox row {item.id} ({item.kind} to "
            f"{item.connection}) is due now with idempotency key {item.idempotency_key}"
        )
        return 0

    _run(go())


# --- audit ------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """The hash-chained audit ledger of outbound shares and deletion decisions."""


@audit.command("verify")
@config_option
def audit_verify(config_path: Path | None) -> None:
    """Recompute the ledger's hash chain: exit 0 if intact, 1 naming the first bad entry."""
    settings = _settings(config_path)

    async def go() -> int:
        from hub.runtime import HubRuntime
        from hub.store import AuditLedger

        runtime = await HubRuntime.open(settings)
        try:
            async with runtime.sessions() as session:
                result = await AuditLedger(session).verify()
        finally:
            await runtime.close()
        if result.ok:
            click.echo(f"ok: {result.checked} entries")
            return 0
        click.echo(
            f"audit ledger broken at entry seq {result.first_bad_seq}: its hash, link or "
            f"sequence number does not match ({result.checked} entries checked)",
            err=True,
        )
        return 1

    _run(go())


# --- check ------------------------------------------------------------------------------


@main.command()
@config_option
def check(config_path: Path | None) -> None:
    """Validate the configuration and reach every connection."""
    from hub.connections import check_connections

    settings = _settings(config_path)
    _run(check_connections(settings, echo=click.echo))


# --- purge ------------------------------------------------------------------------------


@main.command()
@config_option
@click.option(
    "--before",
    "before_text",
    required=True,
    metavar="DATE",
    help="Purge what the retention policy allows from before this date (YYYY-MM-DD).",
)
@click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing.")
def purge(config_path: Path | None, before_text: str, dry_run: bool) -> None:
    """Remove quarantined records, delivered outbox rows and dead letters older than DATE, and
    minimise delivered notifications' payloads; marks and the audit ledger are never purged.
    The purge is itself recorded in the audit ledger (docs/security.md, Retention)."""
    from hub.retention import parse_before, run_purge

    try:
        before = parse_before(before_text)
    except ValueError as exc:
        _fail(str(exc))
    settings = _settings(config_path)
    _run(run_purge(settings, before, dry_run=dry_run, echo=click.echo))


# --- new-plugin -------------------------------------------------------------------------


@main.command("new-plugin")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to create the plugin (default: ./attendance-hub-NAME). Must not exist.",
)
def new_plugin(name: str, directory: Path | None) -> None:
    """Generate an adapter plugin distribution that passes the conformance kit as generated
    (docs/writing-an-adapter.md)."""
    from hub.scaffold import ScaffoldError, generate

    try:
        target, files = generate(name, directory)
    except ScaffoldError as exc:
        _fail(str(exc))
    click.echo(f"created {target} ({len(files)} files)")
    for relative in files:
        click.echo(f"  {relative}")
    click.echo(f"next: cd {target} && pip install -e . && pytest tests/")


if __name__ == "__main__":
    main()
