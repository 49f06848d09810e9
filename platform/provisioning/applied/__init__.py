"""Targets that cannot be read back, so they remember what they last applied.

A command target runs an operator's program per account and a webhook target posts
one event per account; neither can ask the far end what it holds. Each keeps
`state.json` in its own folder: the accounts as last applied, key -> attributes.
`plan` compares the desired accounts with that state (pure); `state` reads and writes
the file and applies the steps one account at a time, in key order, recording each
after it succeeded. A crash or a failure in the middle therefore leaves the state
consistent with what was applied, and the next sync re-applies at most the account
that was in progress: the far side must treat a repeated step as done (idempotent).
"""
