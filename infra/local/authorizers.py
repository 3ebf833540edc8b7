"""API Gateway's Lambda TOKEN authorizer, emulated in front of the local API's routes.

As API Gateway does for a REST API:
- a request without the identity header gets 401 and no function runs;
- the authorizer function gets a TOKEN event with the header's value and the
  request's methodArn;
- its failure with the message "Unauthorized" is a 401, and any other failure,
  or an output without principalId and policyDocument, is a 500;
- an explicit Deny, or no Allow that covers the methodArn, is a 403;
- an Allow passes the output's context and principalId to the route's function
  as `requestContext.authorizer`, every value turned into a string;
- the output is cached per header value for ReauthorizeEvery seconds and
  evaluated again for each request's methodArn, so a policy for one route
  does not open the others.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from infra.local.invoker import ACCOUNT_ID, FunctionError
from infra.local.template import Authorizer

log = logging.getLogger("tradewind.runtime")

API_ID = "local"
INVOKE_ACTION = "execute-api:Invoke"
# The cache is bounded so that a replay with one token per customer does not grow it without limit.
MAX_CACHED_DECISIONS = 10_000
UNAUTHORIZED_MESSAGE = "Unauthorized"


class AuthorizerOutputError(ValueError):
    """The authorizer returned something API Gateway cannot use as a policy."""


@dataclass(frozen=True)
class Decision:
    status: int  # 200 when the request may go on, else 401, 403 or 500
    context: dict[str, str] | None = None  # requestContext.authorizer for the function, when allowed


class TokenAuthorizer:
    """Run one TOKEN authorizer function for the routes that use it, with API Gateway's per-token cache."""

    def __init__(self, authorizer: Authorizer, function: Any, region: str, stage: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.authorizer = authorizer
        self.function = function  # an InProcessFunction or ContainerFunction
        self._region = region
        self._stage = stage
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def header(self) -> str:
        return self.authorizer.header

    def method_arn(self, method: str, path: str) -> str:
        return f"arn:aws:execute-api:{self._region}:{ACCOUNT_ID}:{API_ID}/{self._stage}/{method}/{path.lstrip('/')}"

    def authorize(self, token: str | None, method: str, path: str) -> Decision:
        """Decide on a request whose identity header has the value `token` (None when absent)."""
        if not token:
            return Decision(401)
        method_arn = self.method_arn(method, path)
        output = self._cached(token)
        if output is None:
            try:
                output = self._invoke(token, method_arn)
            except FunctionError as error:
                if str(error.error) == UNAUTHORIZED_MESSAGE:
                    return Decision(401)
                return Decision(500)
            except AuthorizerOutputError as error:
                log.warning("authorizer %s returned an unusable output: %s", self.function.function.name, error)
                return Decision(500)
            self._remember(token, output)

        if not policy_allows(output["policyDocument"], method_arn):
            return Decision(403)
        return Decision(200, {**{key: _string(value) for key, value in (output.get("context") or {}).items()}, "principalId": str(output["principalId"])})

    def _invoke(self, token: str, method_arn: str) -> dict:
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        try:
            invocation = self.function.invoke(event)
        except FunctionError as error:
            outcome = "unauthorized" if str(error.error) == UNAUTHORIZED_MESSAGE else "error"
            log.info("invoke function=%s duration_ms=%.1f outcome=%s error=%s", self.function.function.name, error.duration_ms, outcome, type(error.error).__name__)
            raise
        log.info("invoke function=%s duration_ms=%.1f outcome=ok", invocation.function, invocation.duration_ms)
        return _checked_output(invocation.result)

    def _cached(self, token: str) -> dict | None:
        with self._lock:
            entry = self._cache.get(token)
            if entry is None:
                return None
            expires, output = entry
            if self._clock() >= expires:
                del self._cache[token]
                return None
            self._cache.move_to_end(token)
            return output

    def _remember(self, token: str, output: dict) -> None:
        if self.authorizer.reauthorize_every <= 0:
            return
        with self._lock:
            self._cache[token] = (self._clock() + self.authorizer.reauthorize_every, output)
            self._cache.move_to_end(token)
            while len(self._cache) > MAX_CACHED_DECISIONS:
                self._cache.popitem(last=False)


def _checked_output(output: Any) -> dict:
    if not isinstance(output, dict) or not output.get("principalId") or not isinstance(output.get("policyDocument"), dict):
        raise AuthorizerOutputError(f"expected principalId and policyDocument, got {json.dumps(output)[:200]}")
    context = output.get("context") or {}
    if not isinstance(context, dict) or not all(isinstance(value, (str, int, float, bool)) for value in context.values()):
        raise AuthorizerOutputError("context values must be strings, numbers or booleans")
    return output


def _string(value: str | int | float | bool) -> str:
    # API Gateway passes context values to the function as strings, booleans as "true" and "false".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def policy_allows(policy: dict, method_arn: str) -> bool:
    """Return whether an IAM policy allows execute-api:Invoke on `method_arn`. An explicit Deny wins over any Allow."""
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        if not _any_matches(statement.get("Action"), INVOKE_ACTION, case_sensitive=False):
            continue
        if not _any_matches(statement.get("Resource"), method_arn, case_sensitive=True):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def _any_matches(patterns: str | list[str] | None, value: str, case_sensitive: bool) -> bool:
    if patterns is None:
        return False
    if isinstance(patterns, str):
        patterns = [patterns]
    return any(_wildcard(pattern, case_sensitive).fullmatch(value) for pattern in patterns)


def _wildcard(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    # IAM wildcards: * matches any run of characters, "/" included, and ? matches one character.
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    expression = "".join(parts)
    return re.compile(expression, 0 if case_sensitive else re.IGNORECASE)
