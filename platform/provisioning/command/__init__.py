"""The command target: an operator's program run once per account added, changed or removed.

For what Bureau has no format for, such as home page and FTP folders with disk quotas
(`infra/provisioning/homedir-quota.sh` is an example). Staff configure, per target,
which program runs for `add`, `change` and `remove` and with which arguments; the
programs themselves come only from the folder the operator installs and names with
`BUREAU_PROVISIONING_COMMANDS`, so configuring a target never runs anything else on
the Bureau host.

`templates` checks and renders argument templates, `options` holds what staff
configure, `values` gives each account its key and placeholder values (all three
pure), `programs` finds a program in the operator's folder, `run` runs one, and `sync`
applies the changes against the target's state file (`applied`). A sync that stops in
the middle runs the account in progress again next time, so every program must treat
a repeated add, change or remove as done.
"""
