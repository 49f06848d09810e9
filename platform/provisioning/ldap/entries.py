"""The entries an LDAP directory should hold for a tenant's services (pure).

An ISPman-style tree below the target's `base_dn`, using only schemas Debian's slapd
ships and loads by default (core, cosine, inetorgperson, nis):

- `ou=accounts,<base>`: one entry per RADIUS login, mailbox, web and FTP account,
  `uid=<Unix user name>` (named as in the passwd formats, `formats.naming`), of classes
  inetOrgPerson (cn and sn: the customer's name; mail: the mailbox address for a
  mailbox, else the customer's contact address), posixAccount (uidNumber, gidNumber,
  homeDirectory, loginShell) and shadowAccount. `userPassword` is `{CRYPT}` and the
  account's SHA-512 crypt(3) hash, which slapd checks with libc's crypt on a simple bind.
- `ou=domains,<base>`: one entry per domain service, `associatedDomain=<domain>`, of
  classes dNSDomain (dc: the first label, as dc holds one label) and
  domainRelatedObject (associatedDomain: the whole name).

A suspended account is locked twice over: its hash gets a '!' after `{CRYPT}` (crypt
never produces a hash starting with '!', so every bind fails, as `passwd -l` does), and
`shadowExpire: 1` (1970-01-02) stops PAM/NSS clients that read the entry instead of
binding as it. A suspended domain keeps its entry; its description says "suspended".

Every entry's `description` is "bureau service <id>" (and " (suspended)"): it tells a
person browsing the directory what made the entry. Sync does not rely on it: it owns
the whole `ou=accounts` and `ou=domains` subtrees, so an entry a person adds there is
reported by `read.held` and removed by the next sync.
"""

from __future__ import annotations

from collections.abc import Sequence

from ldap3.utils.dn import escape_rdn, parse_dn

from ..accounts import Account
from ..formats.base import FormatError, exported, keyed
from ..formats.naming import UNIX_KINDS, check_uid
from ..formats.text import check_address, check_domain, check_token
from .options import LdapOptions

Attributes = dict[str, list[str]]
Entries = dict[str, Attributes]  # DN -> attribute name -> values

ACCOUNTS, DOMAINS = "accounts", "domains"  # the ou= containers below base_dn
DOMAIN_KINDS = frozenset({"domain"})
ACCOUNT_CLASSES = ["top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount", "shadowAccount"]
DOMAIN_CLASSES = ["top", "dNSDomain", "domainRelatedObject"]
CONTAINER_CLASSES = ["top", "organizationalUnit"]
CRYPT = "{CRYPT}"
LOCK = "!"  # after {CRYPT}: crypt(3) never yields it, so no password matches
SHADOW_EXPIRED = "1"  # days since 1970-01-01: long past, so the account has expired
MARK = "bureau service"
SUSPENDED = " (suspended)"


def container_dn(ou: str, options: LdapOptions) -> str:
    return f"ou={escape_rdn(ou)},{options.base_dn}"


def containers(options: LdapOptions) -> Entries:
    """The ou= entries the exported kinds need, which sync creates when they are missing."""
    kinds = frozenset(options.kinds)
    wanted = [ou for ou, ou_kinds in ((ACCOUNTS, UNIX_KINDS), (DOMAINS, DOMAIN_KINDS)) if kinds & ou_kinds]
    return {
        container_dn(ou, options): {
            "objectClass": list(CONTAINER_CLASSES),
            "ou": [ou],
            "description": [f"managed by Bureau: entries added here by hand are removed ({ou})"],
        }
        for ou in wanted
    }


def dn_key(dn: str) -> str:
    """`dn` in one spelling (no spaces, lower case) so DNs from Bureau and the server compare.

    Lower-casing the values is right for every naming attribute used here (ou, uid,
    associatedDomain, dc, and cn of hand-made entries all match case-insensitively).
    """
    return ",".join(f"{kind.lower()}={value.lower()}" for kind, value, _ in parse_dn(dn, strip=True))


def description(account: Account) -> str:
    return f"{MARK} {account.service_id}{SUSPENDED if account.locked else ''}"


def display_name(account: Account, name: str) -> str:
    # cn and sn may not be empty; a customer without a name is shown by the user name.
    return " ".join(account.name.split()) or name


def mail(account: Account) -> list[str]:
    if account.kind == "mailbox":
        return [check_address(account.login)]
    email = account.email.strip()
    if email and (not email.isascii() or any(char.isspace() for char in email)):
        # mail is an IA5String: slapd refuses anything but ASCII, and the whole sync with it.
        raise FormatError(
            f"service {account.service_id}: the customer's address {account.email!r} cannot be an LDAP mail "
            "value (ASCII without spaces); correct the customer's e-mail address"
        )
    return [email] if email else []


def account_entry(name: str, account: Account, options: LdapOptions) -> tuple[str, Attributes]:
    users = options.unix_users()
    shown = display_name(account, name)
    attributes: Attributes = {
        "objectClass": list(ACCOUNT_CLASSES),
        "uid": [name],
        "cn": [shown],
        "sn": [shown],
        "uidNumber": [str(check_uid(account))],
        "gidNumber": [str(options.gid)],
        "homeDirectory": [users.home(name)],
        "loginShell": [users.shell(account.kind)],
        "description": [description(account)],
    }
    addresses = mail(account)
    if addresses:
        attributes["mail"] = addresses
    if account.password_crypt is not None:
        crypt = check_token(account.password_crypt, f"service {account.service_id}: hash")
        attributes["userPassword"] = [CRYPT + (LOCK if account.locked else "") + crypt]
    if account.locked:
        attributes["shadowExpire"] = [SHADOW_EXPIRED]
    return f"uid={escape_rdn(name)},{container_dn(ACCOUNTS, options)}", attributes


def domain_entry(domain: str, account: Account, options: LdapOptions) -> tuple[str, Attributes]:
    attributes: Attributes = {
        "objectClass": list(DOMAIN_CLASSES),
        "dc": [domain.partition(".")[0]],
        "associatedDomain": [domain],
        "description": [description(account)],
    }
    return f"associatedDomain={escape_rdn(domain)},{container_dn(DOMAINS, options)}", attributes


def desired_entries(accounts: Sequence[Account], options: LdapOptions) -> Entries:
    """DN -> attributes of every account and domain entry (not the containers), sorted by DN.

    Two accounts with one Unix user name, or two domain services for one domain, are
    refused with a FormatError naming both services, as the file formats do.
    """
    kinds = frozenset(options.kinds)
    users = keyed(
        [(options.unix_name(a), a) for a in exported(accounts, UNIX_KINDS & kinds)],
        "Unix user",
    )
    domain_accounts = exported(accounts, DOMAIN_KINDS & kinds)
    domains = keyed([(check_domain(a.login, f"service {a.service_id}: domain"), a) for a in domain_accounts], "domain")
    built = [account_entry(name, account, options) for name, account in users]
    built += [domain_entry(domain, account, options) for domain, account in domains]
    return dict(sorted(built))
