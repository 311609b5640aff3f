"""Bearer tokens on API requests: who asks, with which role and branches.

Failures are counted per client address and slowed down, then locked out,
as sign-in failures are per username (`core.login_throttle`): a script
guessing tokens gets one try every few seconds, then none for five minutes.
A request without any token is not counted: it is a misconfigured client,
not a guess.
"""

from __future__ import annotations

import asyncio
import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.envelope import ApiError
from api.state import settings
from core import tokens
from core.login_throttle import LoginThrottle
from core.logs import bind
from core.users import User, UserFile

# One per server process, shared by every request, keyed by client address.
THROTTLE = LoginThrottle()
CHALLENGE = 'Bearer realm="sales-analytics"'


def _address(request: Request) -> str:
    return f"api:{request.client.host if request.client else 'unknown'}"


async def authorised(request: Request) -> User:
    """The user the request's bearer token acts for.

    Raises
    ------
    ApiError
        401 without a token or with a malformed, unknown, revoked or expired
        one; 429 while the client's address is locked out.
    """
    address = _address(request)
    locked = THROTTLE.locked_for(address)
    if locked:
        raise ApiError(
            429,
            "too_many_failures",
            f"too many bad tokens from this address: try again in {math.ceil(locked)} s",
            {"Retry-After": str(math.ceil(locked))},
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "unauthorized",
            "send a bearer token (Authorization: Bearer TOKEN); "
            "an admin issues one with python -m core.users token NAME",
            {"WWW-Authenticate": CHALLENGE},
        )
    users = UserFile(settings().auth_file)
    user = await run_in_threadpool(tokens.authenticate, users, token.strip())
    if user is None:
        await asyncio.sleep(THROTTLE.failed(address))
        raise ApiError(
            401,
            "unauthorized",
            "the token is not valid: unknown, revoked or expired",
            {"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
        )
    THROTTLE.succeeded(address)
    bind(user=user.username)
    return user
