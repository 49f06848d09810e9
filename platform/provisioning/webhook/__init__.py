"""The webhook target: one signed HTTP POST to the ISP's URL per account added, changed or removed.

For ISPs whose own systems should hear of provisioning changes as they happen. `options`
holds the URL, kinds and timeout, `payload` builds the events and `signature` signs and
verifies them (all three pure), and `sync` posts the changes against the target's
`state.json` (`applied`), one account at a time. The far end is never asked what it
holds; a sync that stops in the middle posts the account in progress again next time
(with a new event id), so a receiver must treat a repeated event for an account as done.
"""
