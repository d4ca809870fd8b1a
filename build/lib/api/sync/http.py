"""The one GET every ``MicroblogClient`` call goes through: budget, send, classify, retry.

The token lives only in the ``httpx.AsyncClient``'s default headers. Log lines and errors are
built from the path and query (``shown``), which never contain it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from api.sync.budget import RateBudget, bucket_for
from api.sync.errors import (
    AuthFailed,
    Forbidden,
    MicroblogError,
    MicroblogUnavailable,
    NotFound,
    PayloadError,
    RateLimited,
)
from api.sync.payloads import parse
from api.sync.retry import ClientStats, RetryPolicy, error_detail, is_rate_limited, retry_after

log = logging.getLogger("api.sync.client")

Params = list[tuple[str, str | int | float | bool | None]]
T = TypeVar("T")

_FAILS_AT_ONCE: dict[int, type[MicroblogError]] = {
    401: AuthFailed,
    403: Forbidden,
    404: NotFound,
}


class Requester:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        budget: RateBudget,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random,
    ) -> None:
        self.http = http
        self.budget = budget
        self.policy = policy
        self.stats = ClientStats()
        self._sleep = sleep
        self._rng = rng

    async def get_json(self, kind: type[T], path: str, params: Params | None = None) -> T:
        return parse(kind, await self.get_data(path, params), path=shown(path, params), status=200)

    async def get_data(self, path: str, params: Params | None = None) -> Any:
        """The decoded JSON of a 2xx response; a body that is not JSON (cut short, a proxy's
        HTML page) is retried like a 5xx, then fails with ``PayloadError``."""
        _, data = await self._send(path, params, None, decode=True)
        return data

    async def get(
        self, path: str, params: Params | None = None, *, request_timeout: float | None = None
    ) -> httpx.Response:
        """A 2xx response, after up to ``policy.max_retries`` retries; else a MicroblogError."""
        response, _ = await self._send(path, params, request_timeout, decode=False)
        return response

    async def _send(
        self, path: str, params: Params | None, request_timeout: float | None, *, decode: bool
    ) -> tuple[httpx.Response, Any]:
        bucket = bucket_for(path)
        where = shown(path, params)
        timeout = httpx.USE_CLIENT_DEFAULT if request_timeout is None else request_timeout
        attempts = self.policy.max_retries + 1
        for attempt in range(attempts):
            grant = await self.budget.acquire(bucket)
            self.stats.requests += 1
            response: httpx.Response | None = None
            try:
                response = await self.http.get(path, params=params, timeout=timeout)
            except httpx.TimeoutException:
                outcome = "timeout"
            except httpx.RequestError:  # refused, reset, protocol errors, redirect loops
                outcome = "network"
            finally:
                await self.budget.release(grant)
            if response is not None:
                outcome = str(response.status_code)
                if response.is_success:
                    if not decode:
                        self.stats.by_status[outcome] += 1
                        return response, None
                    try:
                        data = response.json()
                    except ValueError:
                        # Cut short on the way, or a proxy's HTML page answering 200: what a
                        # 5xx would have said, so retried like one.
                        outcome = "bad_body"
                    else:
                        self.stats.by_status[outcome] += 1
                        return response, data
            self.stats.by_status[outcome] += 1
            if response is None or outcome == "bad_body":
                delay, rate_limited = self.policy.backoff(attempt, self._rng), False
            else:
                delay, rate_limited = await self._retry_delay(response, attempt, where, bucket)
            if attempt + 1 == attempts:
                break
            log.warning(
                "microblog %s on GET %s; retry %d of %d in %.1f s",
                outcome, where, attempt + 1, self.policy.max_retries, delay,
            )  # fmt: skip
            self.stats.retries += 1
            # Through the budget, so that a stopping worker does not sit out a back-off.
            await self.budget.wait(delay, self._sleep)
        log.warning("microblog %s on GET %s; giving up after %d attempts", outcome, where, attempts)
        if outcome == "bad_body":
            raise PayloadError(
                f"response is not JSON after {attempts} attempts", path=where, status=200
            )
        if rate_limited:
            raise RateLimited(
                f"still rate limited after {attempts} attempts", path=where, retry_after=delay
            )
        raise MicroblogUnavailable(
            f"{outcome} after {attempts} attempts",
            path=where,
            status=None if response is None else response.status_code,
        )

    async def _retry_delay(
        self, response: httpx.Response, attempt: int, where: str, bucket: str
    ) -> tuple[float, bool]:
        """(seconds to wait, whether rate limited) before retrying; raise if not retryable."""
        status = response.status_code
        message, code = error_detail(response)
        if is_rate_limited(response, code):
            delay = retry_after(response)
            if delay is None:
                delay = self.policy.backoff(attempt, self._rng, rate_limited=True)
            # Everyone sharing the budget holds off, not only this request.
            await self.budget.pause(bucket, delay)
            if delay > self.policy.max_retry_after:
                raise RateLimited(message, path=where, status=status, code=code, retry_after=delay)
            return delay, True
        if status >= 500:
            return self.policy.backoff(attempt, self._rng), False
        raise _FAILS_AT_ONCE.get(status, MicroblogError)(
            message, path=where, status=status, code=code
        )


def shown(path: str, params: Params | None) -> str:
    """The path and query as they appear in logs and errors."""
    return str(httpx.URL(path, params=params)) if params else path
