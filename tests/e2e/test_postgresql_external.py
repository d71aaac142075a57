"""The postgresql role in external mode against a real PostgreSQL server, and the database creation SQL.

The Secret and Service live in the test cluster; the server is the session's throwaway
PostgreSQL on 127.0.0.1 (fixture ``postgresql_server`` in conftest.py).
"""

from __future__ import annotations

import base64
import secrets
import socket

import pytest

from tests.helpers import REPO_ROOT, play_recap, run_playbook

NAMESPACE = "sonataflow-infra"
SECRET = "sonataflow-psql-postgresql"
SERVICE = "sonataflow-psql-postgresql"
SQL_FILE = REPO_ROOT / "roles" / "postgresql" / "files" / "create-database.sql"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

PLAY = {
    "name": "Use an external PostgreSQL server",
    "hosts": "localhost",
    "connection": "local",
    "gather_facts": False,
    "module_defaults": {"group/parodos.orchestrator.k8s": {
        "kubeconfig": "{{ orchestrator_kubeconfig | default(omit) }}",
    }},
    "roles": [{"role": "parodos.orchestrator.postgresql"}],
}


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quote_ident(name: str) -> str:
    return '"%s"' % name.replace('"', '""')


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def seed(cluster, data: dict | None = None, service: bool = True) -> None:
    """The workflow namespace with the credentials Secret (and the Service) an admin made for the server."""
    store = cluster.store
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}, manager="test")
    if data is not None:
        store.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "metadata": {"name": SECRET, "namespace": NAMESPACE},
                      "data": {k: b64(v) for k, v in data.items()}}, manager="test")
    if service:
        store.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVICE, "namespace": NAMESPACE},
                      "spec": {"type": "ClusterIP",
                               "ports": [{"name": "postgresql", "port": 5432, "targetPort": 5432}]}},
                     manager="test")


def credentials(server, password: str | None = None) -> dict:
    return {"postgres-username": server.user, "postgres-password": password or server.password}


def run_role(cluster, server, database: str, **extra_vars):
    """Run the role in external mode with -v; return (rc, output, recap)."""
    variables = {"postgresql_mode": "external", "postgresql_external_host": "127.0.0.1",
                 "postgresql_port": server.port, "postgresql_database": database, **extra_vars}
    proc = run_playbook(cluster, [PLAY], variables, args=("-v",))
    return proc.returncode, proc.stdout + proc.stderr, play_recap(proc.stdout)


def database_exists(server, name: str) -> bool:
    return bool(server.query("SELECT 1 FROM pg_database WHERE datname = %s", (name,)))


def assert_no_secret(output: str, *values: str) -> None:
    """Neither the values nor their base64 forms (as a Secret's data holds them) are in the output."""
    for value in values:
        assert value not in output
        assert b64(value) not in output


def cluster_writes(cluster) -> list:
    return [(e.method, e.path) for e in cluster.requests.entries if e.method in WRITE_METHODS]


@pytest.fixture
def database(postgresql_server):
    """A database name unique to the test, dropped afterwards."""
    name = "sonataflow_" + secrets.token_hex(4)
    yield name
    postgresql_server.drop_database(name)


def test_creates_the_database_then_finds_it(cluster, postgresql_server, database):
    seed(cluster, credentials(postgresql_server))

    rc, output, recap = run_role(cluster, postgresql_server, database, postgresql_create_database=True)
    assert rc == 0, output
    assert recap["changed"] >= 1, output
    assert database_exists(postgresql_server, database)
    with postgresql_server.connect(database) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_database()")
        assert cur.fetchone() == (database,)
    assert_no_secret(output, postgresql_server.password)
    assert cluster_writes(cluster) == []

    oid = postgresql_server.query("SELECT oid FROM pg_database WHERE datname = %s", (database,))
    rc, output, recap = run_role(cluster, postgresql_server, database, postgresql_create_database=True)
    assert rc == 0, output
    assert recap["changed"] == 0, output
    assert recap["failed"] == 0
    assert postgresql_server.query("SELECT oid FROM pg_database WHERE datname = %s", (database,)) == oid
    assert_no_secret(output, postgresql_server.password)


@pytest.fixture
def app_user(postgresql_server):
    """An unprivileged login role (no CREATEDB): (name, password). Request it before ``database``."""
    name, password = "app_" + secrets.token_hex(4), secrets.token_urlsafe(16)
    postgresql_server.query("CREATE ROLE %s LOGIN PASSWORD %%s" % quote_ident(name), (password,))
    yield name, password
    postgresql_server.query("DROP ROLE IF EXISTS %s" % quote_ident(name))


def test_login_account_creates_the_database_for_the_secret_user(cluster, postgresql_server, app_user, database):
    """An admin login creates the database; the Secret's (unprivileged) user owns it and can connect."""
    seed(cluster, {"postgres-username": app_user[0], "postgres-password": app_user[1]})
    rc, output, dummy = run_role(cluster, postgresql_server, database, postgresql_create_database=True,
                                 postgresql_external_login_user=postgresql_server.user,
                                 postgresql_external_login_password=postgresql_server.password)
    assert rc == 0, output
    owner = postgresql_server.query("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                                    (database,))
    assert owner == [(app_user[0],)]
    postgresql_server.connect(database, user=app_user[0], password=app_user[1]).close()
    assert_no_secret(output, app_user[1], postgresql_server.password)


def test_user_without_createdb_fails_clearly(cluster, postgresql_server, app_user, database):
    seed(cluster, {"postgres-username": app_user[0], "postgres-password": app_user[1]})
    rc, output, dummy = run_role(cluster, postgresql_server, database, postgresql_create_database=True)
    assert rc != 0
    assert f"Cannot create database {database} on PostgreSQL at 127.0.0.1:{postgresql_server.port}" in output
    assert "permission denied to create database" in output
    assert "Fix: give the user (key postgres-username / key postgres-password of Secret" in output
    assert_no_secret(output, app_user[1])
    assert not database_exists(postgresql_server, database)


def test_database_without_connect_privilege_fails_clearly(cluster, postgresql_server, app_user, database):
    postgresql_server.query("CREATE DATABASE %s" % quote_ident(database))
    postgresql_server.query("REVOKE CONNECT ON DATABASE %s FROM PUBLIC" % quote_ident(database))
    seed(cluster, {"postgres-username": app_user[0], "postgres-password": app_user[1]})
    rc, output, dummy = run_role(cluster, postgresql_server, database, postgresql_create_database=True)
    assert rc != 0
    assert f"Database {database} exists on PostgreSQL at 127.0.0.1:{postgresql_server.port}" in output
    assert "permission denied for database" in output
    assert f"CONNECT on database {database}" in output
    assert_no_secret(output, app_user[1])


def test_check_mode_does_not_create_the_database(cluster, postgresql_server, database):
    seed(cluster, credentials(postgresql_server))
    variables = {"postgresql_mode": "external", "postgresql_external_host": "127.0.0.1",
                 "postgresql_port": postgresql_server.port, "postgresql_database": database,
                 "postgresql_create_database": True}
    proc = run_playbook(cluster, [PLAY], variables, check=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert play_recap(proc.stdout)["changed"] >= 1
    assert not database_exists(postgresql_server, database)


def test_wrong_password_fails_clearly(cluster, postgresql_server, database):
    wrong = "wrong-" + secrets.token_urlsafe(12)
    seed(cluster, credentials(postgresql_server, wrong))
    rc, output, dummy = run_role(cluster, postgresql_server, database, postgresql_create_database=True)
    assert rc != 0
    assert f"PostgreSQL at 127.0.0.1:{postgresql_server.port} (postgresql_external_host:postgresql_port) " \
           "rejected the login" in output
    assert f'password authentication failed for user "{postgresql_server.user}"' in output
    assert "Fix: set the user and password (key postgres-username / key postgres-password of Secret " \
           "sonataflow-psql-postgresql in namespace sonataflow-infra)" in output
    assert_no_secret(output, wrong)
    assert_no_secret(output, postgresql_server.password)
    assert not database_exists(postgresql_server, database)


def test_unreachable_server_fails_clearly(cluster, postgresql_server, database):
    seed(cluster, credentials(postgresql_server))
    port = free_port()
    rc, output, dummy = run_role(cluster, postgresql_server, database, postgresql_port=port)
    assert rc != 0
    assert f"Cannot connect to PostgreSQL at 127.0.0.1:{port} (postgresql_external_host:postgresql_port)" in output
    assert "Connection refused" in output
    assert "Fix: check postgresql_external_host and postgresql_port" in output
    assert_no_secret(output, postgresql_server.password)


def test_missing_database_without_creation_fails_clearly(cluster, postgresql_server, database):
    seed(cluster, credentials(postgresql_server))
    rc, output, dummy = run_role(cluster, postgresql_server, database)
    assert rc != 0
    assert f"Database {database} does not exist on PostgreSQL at 127.0.0.1:{postgresql_server.port}" in output
    assert "Fix: create it, set postgresql_create_database (or postgresql_database_job) to true" in output
    assert_no_secret(output, postgresql_server.password)
    assert not database_exists(postgresql_server, database)


@pytest.mark.parametrize("data, service, extra_vars, message", [
    pytest.param(None, True, {},
                 "Secret sonataflow-psql-postgresql was not found in namespace sonataflow-infra. Fix: create it "
                 "with the keys postgres-username and postgres-password", id="no-secret"),
    pytest.param({"postgres-username": "sonataflow"}, True, {},
                 "Secret sonataflow-psql-postgresql in namespace sonataflow-infra has no (or an empty) key "
                 "postgres-password. Fix:", id="no-password-key"),
    pytest.param({"database-user": "sonataflow", "database-password": "s3cret-value"}, True, {},
                 "has no (or an empty) key postgres-username and key postgres-password", id="other-keys"),
    pytest.param({"postgres-username": "sonataflow", "postgres-password": "s3cret-value"}, False, {},
                 "Service sonataflow-psql-postgresql was not found in namespace sonataflow-infra. Fix: set "
                 "postgresql_service_name and postgresql_service_namespace", id="no-service"),
    pytest.param({"postgres-username": "sonataflow", "postgres-password": "s3cret-value"}, True,
                 {"postgresql_service_namespace": "databases"},
                 "Service sonataflow-psql-postgresql was not found in namespace databases.", id="other-namespace"),
])
def test_missing_secret_or_service_fails_clearly(cluster, data, service, extra_vars, message):
    seed(cluster, data, service)
    proc = run_playbook(cluster, [PLAY], {"postgresql_mode": "external", **extra_vars}, args=("-v",))
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert message in output
    assert_no_secret(output, "s3cret-value")
    assert cluster_writes(cluster) == []


def test_outside_the_cluster_needs_no_service(cluster):
    seed(cluster, {"postgres-username": "sonataflow", "postgres-password": "s3cret-value"}, service=False)
    proc = run_playbook(cluster, [PLAY], {"postgresql_mode": "external", "postgresql_external_in_cluster": False},
                        args=("-v",))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert_no_secret(output, "s3cret-value")


def test_sql_creates_the_database_once(postgresql_server, database):
    def run():
        return postgresql_server.psql("-v", "ON_ERROR_STOP=1", "-v", f"dbname={database}", "-f", str(SQL_FILE))

    first = run()
    assert first.returncode == 0, first.stderr
    assert "CREATE DATABASE" in first.stdout
    row = postgresql_server.query("SELECT oid FROM pg_database WHERE datname = %s", (database,))
    assert len(row) == 1

    second = run()
    assert second.returncode == 0, second.stderr
    assert "CREATE DATABASE" not in second.stdout
    assert second.stderr == ""
    assert postgresql_server.query("SELECT oid FROM pg_database WHERE datname = %s", (database,)) == row


def test_sql_quotes_the_name_and_requires_it(postgresql_server):
    name = 'Odd "name"; DROP'
    try:
        proc = postgresql_server.psql("-v", "ON_ERROR_STOP=1", "-v", f"dbname={name}", "-f", str(SQL_FILE))
        assert proc.returncode == 0, proc.stderr
        assert database_exists(postgresql_server, name)
    finally:
        postgresql_server.drop_database(name)

    proc = postgresql_server.psql("-v", "ON_ERROR_STOP=1", "-f", str(SQL_FILE))
    assert proc.returncode != 0
    assert "the psql variable dbname is not set" in proc.stderr
