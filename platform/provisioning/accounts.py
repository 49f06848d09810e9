"""What a back-end system should hold for one service: its desired state, as plain values.

Export formats render these and nothing else; they never see a database row. Only
active and suspended services are exported (pending ones are not provisioned yet and
cancelled ones are removed); a suspended account is present but locked, the way each
format locks one (`!` before a Unix hash, `Auth-Type := Reject` in a RADIUS users
file, a mail alias that bounces).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class AccountState(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Account:
    """One service as a back-end system should hold it."""

    service_id: int
    customer_id: int
    kind: str  # the service kind: radius_login, mailbox, web, ftp, disk_quota, domain
    login: str  # as the subscriber types it: "alice@demo.example", a mailbox address, a domain
    state: AccountState
    uid: int  # numeric user id on Unix-like targets (the target's uid base + service id)
    name: str  # the customer's name (GECOS field, LDAP cn)
    email: str  # the customer's contact address
    plan: str  # the plan's code
    password_crypt: str | None = None  # SHA-512 crypt(3) of the password ("$6$..."), if it has one
    quota_mb: int | None = None

    @property
    def locked(self) -> bool:
        return self.state is AccountState.SUSPENDED

    @property
    def user(self) -> str:
        """The login without its realm: the local part of "alice@demo.example"."""
        return self.login.rpartition("@")[0] or self.login

    @property
    def domain(self) -> str | None:
        """The realm or mail domain of the login, lower-cased; None without one."""
        user, at, domain = self.login.rpartition("@")
        return domain.lower() if at and user else None
