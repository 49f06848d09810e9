"""Each account's key on a command target and the values its templates see (pure).

The key is the Unix user name (`naming.UnixNaming`) for user kinds and the domain for a
domain. Placeholder values, all text:

- `login` as the subscriber types it; `user` the key (the Unix user name, or the domain)
- `uid`, `gid`; `home` = home_base/user
- `quota_mb`: "0" when the plan sets no quota (setquota's "no limit")
- `state` ("active" or "suspended"), `kind`, `service_id`, `email` (the customer's)

These values are what `state.json` keeps per account, so a change of any of them (a
suspension, a new quota, another home_base) runs `change`, and `remove` still has
them after the service is gone.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..accounts import Account
from ..formats.base import Held, exported, keyed
from ..formats.naming import check_uid
from ..formats.text import check_domain
from .options import DOMAIN_KINDS, CommandOptions


def account_key(account: Account, options: CommandOptions) -> str:
    if account.kind in DOMAIN_KINDS:
        return check_domain(account.login, f"service {account.service_id}: domain")
    return options.unix_name(account)


def account_values(key: str, account: Account, options: CommandOptions) -> dict[str, str]:
    return {
        "login": account.login,
        "user": key,
        "uid": str(check_uid(account)),
        "gid": str(options.gid),
        "home": options.unix_users().home(key),
        "quota_mb": str(account.quota_mb or 0),
        "state": account.state.value,
        "kind": account.kind,
        "service_id": str(account.service_id),
        "email": account.email,
    }


def desired_held(accounts: Sequence[Account], options: CommandOptions) -> dict[str, Held]:
    """Key -> values of the accounts the target should hold; FormatError for two accounts on one key."""
    chosen = exported(accounts, frozenset(options.kinds))
    pairs = keyed([(account_key(account, options), account) for account in chosen], "command target key")
    return {key: Held(key, account_values(key, account, options)) for key, account in pairs}
