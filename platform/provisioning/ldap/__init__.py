"""The LDAP export target: a directory that is synchronised, not a file that is rendered.

`options` holds what staff configure, `entries` builds the entries the directory should
hold (pure), `plan` compares them with what it holds (pure), `read` turns entries back
into `Held` values for reconciliation (pure), and `sync` is the one module that talks
to the server.
"""
