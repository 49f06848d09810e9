"""Synchronising a webhook target: post one signed event per account that changed since the last sync.

`sync` compares the accounts with the target's `state.json` (`applied`) and posts the
events one at a time in key order, recording each account in the state once the
receiver answered 2xx. Anything else (another status, a redirect, which is never
followed, a timeout, a refused connection) stops the sync with `WebhookFailed`, naming
the URL without its query, the event and the failure, never the secret; what was
delivered before stays recorded, and the next sync starts again at the failed account.

The HTTP client ignores the environment (proxies, .netrc, CA variables): a .netrc
entry for the ISP's host must not add credentials to what Bureau sends.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx

from ..accounts import Account
from ..applied.plan import Step, SyncResult
from ..applied.state import apply, read_state
from ..formats.base import Held, OptionsError
from .options import WebhookOptions
from .payload import body, desired_held, event
from .signature import HEADER, signature_header

USER_AGENT = "Bureau-Webhooks/1"
SECRET_MIN_CHARS = 16
RESPONSE_CHARS_MAX = 200  # of a failed response's body, in the error message
RESPONSE_BYTES_READ_MAX = 4 * 1024


class WebhookFailed(Exception):
    """The receiver did not accept an event, or could not be reached; the message says where and what."""


def check_secret(secret: str | None) -> str:
    if not secret or len(secret) < SECRET_MIN_CHARS:
        raise OptionsError(
            f"a webhook target needs a signing secret of at least {SECRET_MIN_CHARS} characters; "
            "set the target's secret and give the receiver the same one"
        )
    return secret


async def _excerpt(response: httpx.Response) -> str:
    read = b""
    async for chunk in response.aiter_bytes():
        read += chunk
        if len(read) >= RESPONSE_BYTES_READ_MAX:
            break
    text = " ".join(read.decode("utf-8", "replace").split())
    return text[:RESPONSE_CHARS_MAX] + ("..." if len(text) > RESPONSE_CHARS_MAX else "")


async def deliver(client: httpx.AsyncClient, options: WebhookOptions, secret: str, step: Step) -> None:
    """POST the event of `step`, signed; WebhookFailed unless the receiver answers 2xx in time."""
    now = int(time.time())
    found = event(step, event_id=str(uuid.uuid4()), created=now)
    content = body(found)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER: signature_header(secret, now, content),
    }
    what = f"webhook {options.where()}: {found['type']} for account {step.key!r}"
    try:
        async with asyncio.timeout(options.timeout_s):  # httpx's timeouts are per phase, this is the total
            async with client.stream("POST", options.url, content=content, headers=headers) as response:
                if response.is_success:
                    return
                detail = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
                if response.is_redirect:
                    detail += " (redirects are not followed; configure the final URL)"
                excerpt = await _excerpt(response)
    except (TimeoutError, httpx.TimeoutException):
        raise WebhookFailed(f"{what} failed: no answer within {options.timeout_s} s") from None
    except httpx.HTTPError as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise WebhookFailed(f"{what} failed: {reason.replace(secret, '***')}") from None
    if excerpt:
        detail += f": {excerpt.replace(secret, '***')}"
    raise WebhookFailed(f"{what} failed: {detail}")


async def sync(
    options: WebhookOptions,
    secret: str | None,
    accounts: Sequence[Account],
    *,
    dry_run: bool = False,
    folder: Path,
) -> SyncResult:
    """Post account.added, account.changed or account.removed for each account that differs from the state.

    `secret` signs the events and is required (OptionsError without it, even in a dry
    run); `folder` is the target's own folder, which holds `state.json`. A dry run posts
    nothing and reports what it would post.
    """
    key = check_secret(secret)
    desired = desired_held(accounts, options)
    if dry_run:
        return await apply(folder, desired, _never, dry_run=True)
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(options.timeout_s), follow_redirects=False, trust_env=False
    ) as client:

        async def post(step: Step) -> None:
            await deliver(client, options, key, step)

        return await apply(folder, desired, post, dry_run=False)


async def _never(step: Step) -> None:
    raise RuntimeError(f"a dry run must not post {step.key!r}")


async def held(options: WebhookOptions, secret: str | None, *, folder: Path) -> dict[str, Held]:
    """What was last delivered (the state file), keyed as `payload.desired_held` keys what should be."""
    del options, secret
    return await asyncio.to_thread(read_state, folder)
