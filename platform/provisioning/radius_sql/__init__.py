"""The FreeRADIUS SQL export target: rows in an ISP's own FreeRADIUS database.

For ISPs that keep their own FreeRADIUS with rlm_sql: Bureau writes the `radcheck`,
`radreply` and `radusergroup` tables of FreeRADIUS's PostgreSQL schema in a database
the ISP names, meaning exactly what the `radius_users` file format means.

`options` holds what staff configure, `rows` builds the rows the tables should hold and
reads rows back as `Held` values (pure), `plan` compares desired and held rows per user
(pure), and `sync` is the one module that talks to the database.
"""
