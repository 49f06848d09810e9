"""A throw-away OpenLDAP slapd for the benchmarks, as the LDAP export tests start theirs.

Debian's slapd (installed by infra/install-slapd.sh when missing: benchmarks may install
what they need) runs in the foreground on 127.0.0.1 and a free port, from a slapd.conf
written into a fresh temporary folder: an mdb database there, the schemas Debian ships
(core, cosine, inetorgperson, nis), and a root DN whose password (random, per run) is
stored as {SSHA}. `running_slapd` adds the suffix entry, yields, then terminates slapd
and removes the folder. `python bench/<name>.py` puts this folder on sys.path, so the
benchmarks import it as `_slapd`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ldap3 import Connection, Server

SLAPD = "/usr/sbin/slapd"
INSTALLER = Path(__file__).resolve().parents[1] / "infra" / "install-slapd.sh"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
SUFFIX = "dc=bench"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


def admin_dn(suffix: str) -> str:
    return f"cn=admin,{suffix}"


class SlapdError(RuntimeError):
    """slapd could not be installed or started; the message says why."""


def find_slapd() -> str:
    """Debian's slapd, installed from the package registry if missing."""
    if not os.access(SLAPD, os.X_OK):
        done = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=600)  # noqa: S603, S607
        if done.returncode != 0:
            raise SlapdError(f"slapd is missing and {INSTALLER} could not install it: {done.stderr.strip()}")
    if not os.access(SLAPD, os.X_OK):
        raise SlapdError(f"{SLAPD} is still missing after installing slapd")
    return SLAPD


def version(binary: str = SLAPD) -> str:
    """ "OpenLDAP slapd 2.5.13+dfsg-5", from `slapd -VV` (which prints it on stderr)."""
    done = subprocess.run([binary, "-VV"], capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    for line in (done.stderr + done.stdout).splitlines():
        if "slapd" in line:
            words = line.replace("$", " ").replace(":", " ").split()
            if "slapd" in words and words.index("slapd") + 1 < len(words):
                return f"OpenLDAP slapd {words[words.index('slapd') + 1]}"
    return "OpenLDAP slapd (version unknown)"


def ssha(password: str) -> str:
    """slappasswd's default {SSHA}: SHA-1 of password and salt, then the salt, in base64."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt, usedforsecurity=False).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def slapd_conf(folder: Path, password: str, suffix: str) -> str:
    includes = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    return f"""{includes}
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 1073741824
suffix "{suffix}"
rootdn "{admin_dn(suffix)}"
rootpw {ssha(password)}
directory {folder}/data
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
"""


@dataclass(frozen=True, slots=True)
class Slapd:
    port: int
    folder: Path  # the mdb database is in folder/data
    password: str  # the root DN's
    version: str
    suffix: str = SUFFIX
    root_dn: str = f"cn=admin,{SUFFIX}"

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "slapd.log"

    @contextmanager
    def connect(self, user: str | None = None, password: str | None = None) -> Iterator[Connection]:
        """A connection bound as `user` (default: the root DN), unbound at the end (ldap3's
        own `with` leaves an auto-bound one open)."""
        conn = Connection(
            Server(self.url, connect_timeout=5),
            user=user or self.root_dn,
            password=self.password if password is None else password,
            auto_bind=True,
        )
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


def _wait_answering(process: subprocess.Popen[bytes], slapd: Slapd) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SlapdError(f"slapd exited with {process.returncode}: {slapd.log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", slapd.port), timeout=1).close()
            return
        except OSError:  # not listening yet
            time.sleep(0.1)
    raise SlapdError(f"slapd did not answer on {slapd.url} within {START_TIMEOUT_S} s: {slapd.log.read_text()}")


@contextmanager
def running_slapd(suffix: str = SUFFIX, password: str | None = None) -> Iterator[Slapd]:
    """A fresh slapd holding only the suffix entry (default dc=bench; the root DN is
    cn=admin below it, with `password` or a random one); stopped and removed afterwards.
    The LDAP export tests use it too."""
    binary = find_slapd()
    folder = Path(tempfile.mkdtemp(prefix="bureau-slapd-"))
    try:
        (folder / "data").mkdir()
        password = password or secrets.token_hex(16)
        (folder / "slapd.conf").write_text(slapd_conf(folder, password, suffix))
        server = Slapd(free_port(), folder, password, version(binary), suffix, admin_dn(suffix))
        with server.log.open("wb") as output:
            # -d keeps slapd in the foreground, so this process owns it; 0 logs no debug.
            process = subprocess.Popen(  # noqa: S603
                [binary, "-f", str(folder / "slapd.conf"), "-h", f"{server.url}/", "-d", "0"],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_answering(process, server)
            with server.connect() as conn:
                name = suffix.partition("=")[2].partition(",")[0]
                if not conn.add(suffix, ["top", "dcObject", "organization"], {"dc": name, "o": "Bureau"}):
                    raise SlapdError(f"adding {suffix!r} failed: {conn.result}")
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
