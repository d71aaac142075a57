"""Fixtures for end-to-end tests: a throwaway PostgreSQL server on loopback."""

from __future__ import annotations

import dataclasses
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

SERVER_BINARIES = ("initdb", "pg_ctl", "psql")


def find_postgresql_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and psql: PATH first, then Debian's versioned directories."""
    initdb = shutil.which("initdb")
    candidates = [Path(initdb).parent] if initdb else []
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in versioned), key=lambda p: int(p.parent.name) if p.parent.name.isdigit()
                         else 0, reverse=True)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in SERVER_BINARIES):
            return bindir
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class PostgreSQLServer:
    """A running server: superuser credentials and client helpers."""

    bindir: Path
    datadir: Path
    host: str
    port: int
    user: str
    password: str

    def connect(self, dbname: str = "postgres", **params):
        """A psycopg2 connection (autocommit) as the superuser unless params say otherwise."""
        import psycopg2

        conn = psycopg2.connect(**{"host": self.host, "port": self.port, "user": self.user,
                                   "password": self.password, "dbname": dbname, "connect_timeout": 10,
                                   **params})
        conn.autocommit = True
        return conn

    def query(self, sql: str, params=(), dbname: str = "postgres") -> list[tuple]:
        """Rows of one statement run as the superuser."""
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def psql(self, *args: str, user: str | None = None, password: str | None = None,
             dbname: str = "postgres") -> subprocess.CompletedProcess:
        """Run the real psql client against the server (password through PGPASSWORD)."""
        env = {**os.environ, "PGPASSWORD": password or self.password, "PGCONNECT_TIMEOUT": "10"}
        cmd = [str(self.bindir / "psql"), "-X", "-h", self.host, "-p", str(self.port),
               "-U", user or self.user, "-d", dbname, *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)

    def drop_database(self, name: str) -> None:
        """Drop a database if it exists (closing other sessions first)."""
        self.query("DROP DATABASE IF EXISTS %s WITH (FORCE)" % quote_ident(name))


def quote_ident(name: str) -> str:
    """SQL identifier quoting."""
    return '"%s"' % name.replace('"', '""')


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run the server tools as the postgres OS user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@pytest.fixture(scope="session")
def postgresql_server():
    """A PostgreSQL server on 127.0.0.1 (free port) with password auth and a superuser; stopped at the end.

    Skipped when the server binaries are missing, failed instead when CI is set.
    """
    bindir = find_postgresql_bindir()
    if bindir is None:
        reason = ("PostgreSQL server binaries (initdb, pg_ctl, psql) not found on PATH or in "
                  "/usr/lib/postgresql/*/bin: install Debian's `postgresql` package")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    as_root = os.geteuid() == 0
    # The postgres OS user must be able to reach the directory: pytest's tmp dirs are private to root.
    base = Path(tempfile.mkdtemp(prefix="pytest-postgresql-", dir="/tmp" if as_root else None))
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    datadir = base / "data"
    pwfile = base / "pwfile"
    user, password = "postgres", secrets.token_urlsafe(18)
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if as_root:
        shutil.chown(pwfile, "postgres", "postgres")
    started = False
    try:
        _run([str(bindir / "initdb"), "-D", str(datadir), "-U", user, f"--pwfile={pwfile}", "--no-sync",
              "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"], "initdb")
        pwfile.unlink()
        port = free_port()
        options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} "
                   "-c fsync=off -c full_page_writes=off -c synchronous_commit=off -c password_encryption=scram-sha-256")
        _run([str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(base / "server.log"), "-o", options,
              "-w", "-t", "60", "start"], "pg_ctl start")
        started = True
        yield PostgreSQLServer(bindir=bindir, datadir=datadir, host="127.0.0.1", port=port, user=user,
                               password=password)
    finally:
        if started:
            _run([str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"], "pg_ctl stop")
        shutil.rmtree(base, ignore_errors=True)
