"""A throwaway PostgreSQL 16 server for the tests, from the ``pgserver`` wheel's binaries.

The server listens on a unix socket in its own temporary folder and on no TCP address at all. PostgreSQL refuses
to run as root, so as root it runs as the ``postgres`` user. Each test gets a database of its own.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why."""


def _binaries() -> Path:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresUnavailable("the pgserver wheel is not installed (`pip install -e '.[test]'`)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (folder / "pg_ctl").is_file():
        raise PostgresUnavailable(f"pgserver ships no pg_ctl at {folder}")
    return folder


class PostgresServer:
    """``start()`` it, ask it for ``new_database()`` URLs, ``stop()`` it."""

    def __init__(self, *, durable: bool = False) -> None:
        """``durable``: flush to disk as a production server does (tests skip it, benchmarks want it)."""
        self.bin = _binaries()
        self.durable = durable
        self.folder = Path(tempfile.mkdtemp(prefix="archivist-pg-"))
        self.data = self.folder / "data"
        self._user: str | None = None
        self._numbers = itertools.count(1)
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root, and there is no `postgres` user to run PostgreSQL") from exc
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self._user = "postgres"
            # The checkout (and its .venv) may sit where that user cannot reach, such as under /root: it runs a copy
            # of the 34 MB installation in its own folder, laid out as in site-packages (the binaries find their
            # libraries at $ORIGIN/../../../pgserver.libs).
            site = self.bin.parents[2]
            for part in ("pgserver/pginstall", "pgserver.libs"):
                if (site / part).is_dir():
                    shutil.copytree(site / part, self.folder / "site" / part, symlinks=True)
            self.bin = self.folder / "site" / "pgserver" / "pginstall" / "bin"
        self.folder.chmod(0o700)

    def _run(self, *command: str) -> None:
        done = subprocess.run(
            [str(self.bin / command[0]), *command[1:]],
            user=self._user,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.folder,
            check=False,
        )
        if done.returncode != 0:
            raise PostgresUnavailable(f"{command[0]} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    def start(self) -> PostgresServer:
        self._run(
            "initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"
        )
        options = f"-k {self.folder} -c listen_addresses='' -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-o", options, "start")
        return self

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.folder}"

    def new_database(self, template: str | None = None) -> str:
        """The URL of a new database: empty, or a copy of the one at URL ``template`` (no one may be connected to it)."""
        import psycopg

        name = f"archive_{os.getpid()}_{next(self._numbers)}"
        copy = f" TEMPLATE {template.split('@/', 1)[1].split('?')[0]}" if template else ""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}{copy}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
