"""A real OpenLDAP slapd for the LDAP export tests, started once per run.

Debian's slapd (installed by infra/install-slapd.sh when missing, never skipped) runs in
the foreground on 127.0.0.1 and a free port, from a slapd.conf written into a temporary
folder: an mdb database there, the schemas Debian ships (core, cosine, inetorgperson,
nis), and a root DN whose password is stored as {SSHA}. Each test gets a base DN of its
own below the suffix, so tests never see each other's entries.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from ldap3 import Connection, Server

from bureau.platform.provisioning.ldap.options import LdapOptions

SLAPD = "/usr/sbin/slapd"
INSTALLER = Path(__file__).resolve().parents[5] / "infra" / "install-slapd.sh"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
SUFFIX = "dc=isp,dc=example"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-secret-9f3a"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


def find_slapd() -> str:
    """Debian's slapd, installed from the package registry if missing (never skipped)."""
    if not os.access(SLAPD, os.X_OK):
        done = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"slapd is missing and {INSTALLER} could not install it: {done.stderr}"
    assert os.access(SLAPD, os.X_OK), f"{SLAPD} is still missing after installing slapd"
    return SLAPD


def ssha(password: str) -> str:
    """slappasswd's default {SSHA}: SHA-1 of password and salt, then the salt, in base64."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt, usedforsecurity=False).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def slapd_conf(folder: Path) -> str:
    includes = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    return f"""{includes}
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 104857600
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ssha(ROOT_PASSWORD)}
directory {folder}/data
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
"""


@dataclass(frozen=True)
class Slapd:
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @contextmanager
    def connect(self, user: str = ROOT_DN, password: str = ROOT_PASSWORD) -> Iterator[Connection]:
        """A bound connection, unbound at the end (ldap3's own `with` leaves an auto-bound one open)."""
        conn = Connection(Server(self.url, connect_timeout=5), user=user, password=password, auto_bind=True)
        try:
            yield conn
        finally:
            conn.unbind()

    def binds(self, user: str, password: str) -> bool:
        """Whether a simple bind as `user` with `password` succeeds."""
        conn = Connection(Server(self.url, connect_timeout=5), user=user, password=password)
        try:
            return bool(conn.bind())
        finally:
            conn.unbind()


def wait_answering(process: subprocess.Popen[bytes], slapd: Slapd) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"slapd exited with {process.returncode}: {slapd.log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", slapd.port), timeout=1).close()
            return
        except OSError:  # not listening yet
            time.sleep(0.1)
    raise AssertionError(f"slapd did not answer on {slapd.url} within {START_TIMEOUT_S} s: {slapd.log.read_text()}")


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    binary = find_slapd()
    folder = tmp_path_factory.mktemp("slapd")
    (folder / "data").mkdir()
    (folder / "slapd.conf").write_text(slapd_conf(folder))
    server = Slapd(free_port(), folder / "slapd.log")
    log = server.log
    with log.open("wb") as output:
        # -d keeps slapd in the foreground, so the fixture owns the process; 0 logs no debug.
        process = subprocess.Popen(
            [binary, "-f", str(folder / "slapd.conf"), "-h", f"{server.url}/", "-d", "0"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_answering(process, server)
        with server.connect() as conn:
            conn.add(SUFFIX, ["top", "dcObject", "organization"], {"dc": "isp", "o": "ISP"})
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def base_dn(slapd: Slapd) -> str:
    """An empty organizationalUnit of this test's own below the suffix."""
    name = f"t{uuid.uuid4().hex[:10]}"
    dn = f"ou={name},{SUFFIX}"
    with slapd.connect() as conn:
        conn.add(dn, ["top", "organizationalUnit"], {"ou": name})
    return dn


@pytest.fixture
def options(slapd: Slapd, base_dn: str) -> LdapOptions:
    return LdapOptions(url=slapd.url, base_dn=base_dn, bind_dn=ROOT_DN, timeout_s=5)
