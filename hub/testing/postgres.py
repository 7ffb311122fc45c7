"""A throwaway PostgreSQL server on loopback, for tests and demos.

``initdb`` into a temporary directory, ``pg_ctl start`` on a free 127.0.0.1 port with the Unix
socket kept inside that directory, trust authentication for the ``postgres`` superuser, and
durability switched off (the data is deleted at the end anyway). PostgreSQL refuses to run as
root, so under root the server commands run as the ``postgres`` system user.

    with running_postgres() as server:
        url = server.create_database("hub")      # postgresql+asyncpg://postgres@127.0.0.1:PORT/hub
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"
_SERVER_BINARIES = ("initdb", "pg_ctl")
_CLIENT_BINARY = "psql"
_START_ATTEMPTS = 3
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server binaries, or no way to run them; the message says which."""


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: ``PATH`` first, then Debian's layout."""
    on_path = [shutil.which(name) for name in _SERVER_BINARIES]
    if all(on_path):
        return Path(str(on_path[0])).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if all((Path(candidate) / name).is_file() for name in _SERVER_BINARIES):
            return Path(candidate)
    return None


def unavailable_reason() -> str | None:
    """Why a throwaway server cannot be started here, or ``None`` when it can."""
    bindir = find_bindir()
    if bindir is None:
        return "initdb and pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin"
    if not (bindir / _CLIENT_BINARY).is_file() and shutil.which(_CLIENT_BINARY) is None:
        return f"psql not found next to {bindir / 'initdb'} or on PATH"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            return "running as root and there is no 'postgres' system user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is not available to drop to the 'postgres' user"
    return None


def postgres_available() -> bool:
    return unavailable_reason() is None


@dataclass(frozen=True)
class PostgresServer:
    """A running server: ``create_database`` returns a URL; ``url(name)`` builds one."""

    bindir: Path
    data_dir: Path
    host: str
    port: int
    major_version: int
    user: str = SUPERUSER

    def url(self, database: str = "postgres", *, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one SQL command as the superuser over TCP and return its output."""
        psql = self.bindir / _CLIENT_BINARY
        program = str(psql) if psql.is_file() else _CLIENT_BINARY
        command = [program, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.host]
        command += ["-p", str(self.port), "-U", self.user, "-d", database, "-c", sql]
        return _run(command).stdout

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create a database (optionally a copy of ``template``) and return its async URL."""
        sql = f'CREATE DATABASE "{_identifier(name)}"'
        if template is not None:
            sql += f' TEMPLATE "{_identifier(template)}"'
            if self.major_version >= 15:
                # Copying files is several times faster than WAL-logging a small template.
                sql += " STRATEGY FILE_COPY"
        self.psql(sql)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{_identifier(name)}" WITH (FORCE)')


@contextlib.contextmanager
def running_postgres(*, base_dir: str | None = None) -> Iterator[PostgresServer]:
    """Start a throwaway server; stop it and delete its files on exit."""
    reason = unavailable_reason()
    if reason is not None:
        raise PostgresUnavailableError(reason)
    bindir = find_bindir()
    assert bindir is not None
    run_as = SUPERUSER if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="hub-pg-", dir=base_dir))
    data_dir = root / "data"
    try:
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        initdb = [str(bindir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, "-A", "trust"]
        _as_user(run_as, [*initdb, "-E", "UTF8", "--locale=C", "--no-sync"])
        server = _start(bindir, root, data_dir, run_as)
        try:
            yield server
        finally:
            stop = [str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"]
            _as_user(run_as, stop, check=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start(bindir: Path, root: Path, data_dir: Path, run_as: str | None) -> PostgresServer:
    last_error = ""
    for _ in range(_START_ATTEMPTS):
        port = _free_port()
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {port}",
                f"-c unix_socket_directories={root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        log = root / "server.log"
        start = [str(bindir / "pg_ctl"), "-D", str(data_dir), "-l", str(log), "-o", options]
        result = _as_user(run_as, [*start, "-w", "-t", "30", "start"], check=False)
        if result.returncode == 0:
            return PostgresServer(
                bindir=bindir,
                data_dir=data_dir,
                host="127.0.0.1",
                port=port,
                major_version=_major_version(bindir),
            )
        # Another process may have taken the port between probing and binding: try another.
        last_error = log.read_text(errors="replace")[-2000:] if log.exists() else result.stderr
    raise PostgresUnavailableError(f"PostgreSQL did not start: {last_error}")


def _major_version(bindir: Path) -> int:
    # "pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    found = re.search(r"\)\s+(\d+)", _run([str(bindir / "pg_ctl"), "--version"]).stdout)
    return int(found.group(1)) if found else 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_user(
    user: str | None, command: Sequence[str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    return _run(command, check=check)


def _run(command: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(command), capture_output=True, text=True, check=False, timeout=120, cwd="/"
    )
    if check and result.returncode != 0:
        raise PostgresUnavailableError(
            f"{Path(command[0]).name} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return result


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"database name {name!r}: use lower-case letters, digits and _")
    return name
