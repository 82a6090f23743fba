"""``/openapi.json`` of every HTTP service, built from the types and rules the handlers validate with.

A document describes the running service as it is configured: with auth off
it requires no credentials and says so, with auth on it requires them and
declares the 401. Every refusal a route can answer is declared with its JSON
error body, so a client generated from the document expects what it gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from .health import Health, Readiness
from .http import ErrorBody
from .jwt_auth import AnalystAuthSettings
from .times import PLATFORM_YEAR_PATTERN

SCHEMA_REF = "#/components/schemas/{name}"
OPENAPI = web.AppKey("openapi", dict)
JSON = "application/json"


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": SCHEMA_REF.format(name=name)}


def components(*types: Any) -> dict[str, Any]:
    """The JSON schemas of ``types`` and every type they use, by name."""
    (_, schemas) = msgspec.json.schema_components([*types, ErrorBody, Health, Readiness], ref_template=SCHEMA_REF)
    return schemas


def json_body(schema_name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema_ref(schema_name)}}}


def refusal(description: str) -> dict[str, Any]:
    """A response with the platform's JSON error body."""
    return json_body("ErrorBody", description)


@dataclass(frozen=True)
class Auth:
    """How callers of some routes authenticate, as this process is configured."""

    scheme_name: str
    scheme: dict[str, Any]
    enabled: bool
    refused: str  # what earns a 401
    switch: str  # the setting that turns it on or off, for the document's note

    def requirement(self) -> list[dict[str, list[str]]]:
        return [{self.scheme_name: []}] if self.enabled else []

    def responses(self) -> dict[str, Any]:
        return {"401": refusal(self.refused)} if self.enabled else {}

    def note(self) -> str:
        state = (
            "on: the routes that list it require it"
            if self.enabled
            else "off: no route requires it, and none answers 401 for the lack of it"
        )
        return f"`{self.scheme_name}` authentication is {state} ({self.switch})."


_ANALYST_JWT = ("The analyst's JWT (HS256 with JWT_SECRET, sub and exp required, aud when JWT_AUDIENCE is "
                "set); the push gateway's /api passes the analyst's on to the read API.")


def analyst_auth(settings: AnalystAuthSettings, socket: bool = False) -> Auth:
    """The analyst's JWT as AUTH_ENABLED says: ``Authorization: Bearer`` (``analyst``), or on the
    push gateway's WebSocket, where browsers cannot set headers, ``token=<jwt>`` (``socketToken``)."""
    scheme = ({"type": "apiKey", "in": "query", "name": "token"} if socket
              else {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    return Auth(
        scheme_name="socketToken" if socket else "analyst",
        scheme={**scheme, "description": _ANALYST_JWT},
        enabled=settings.auth_enabled,
        refused=f"No valid analyst JWT ({'token=<jwt>' if socket else 'Authorization: Bearer <jwt>'}); "
                "answered with WWW-Authenticate: Bearer.",
        switch="AUTH_ENABLED",
    )


def operation(
    summary: str,
    responses: dict[str, Any],
    *,
    auth: Auth | None = None,
    parameters: list[dict[str, Any]] | None = None,
    request: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """One operation; ``auth`` adds its requirement and its 401 as configured (none: an open route)."""
    body: dict[str, Any] = {"summary": summary}
    if description:
        body["description"] = description
    if parameters:
        body["parameters"] = parameters
    if request:
        body["requestBody"] = {"required": True, "content": {JSON: {"schema": schema_ref(request)}}}
    body["responses"] = {**responses, **(auth.responses() if auth else {})}
    body["security"] = auth.requirement() if auth else []
    return body


def parameter(
    name: str, where: str, description: str, schema: dict[str, Any], required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": schema,
    }


def service_paths(ready_when: str) -> dict[str, Any]:
    """The routes every service serves, open whatever the auth settings: probes, metrics, this document."""
    return {
        "/healthz": {"get": operation("The process is alive.", {"200": json_body("Health", "Alive.")})},
        "/readyz": {
            "get": operation(
                f"Ready: {ready_when}.",
                {
                    "200": json_body("Readiness", "Every dependency answers."),
                    "503": json_body("Readiness", "Some dependency does not answer; each check says why."),
                },
            )
        },
        "/metrics": {
            "get": operation(
                "Prometheus metrics.",
                {
                    "200": {
                        "description": "The text exposition format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                },
            )
        },
        "/openapi.json": {
            "get": operation(
                "This document.",
                {
                    "200": {"description": "OpenAPI 3.1.", "content": {JSON: {"schema": {"type": "object"}}}},
                },
            )
        },
    }


def document(
    title: str, description: str, paths: dict[str, Any], schemas: dict[str, Any], auths: list[Auth] = ()
) -> dict[str, Any]:
    """The whole document; each ``Auth`` adds its scheme and a sentence saying whether it is on."""
    notes = " ".join(auth.note() for auth in auths)
    return _published(
        {
            "openapi": "3.1.0",
            "info": {"title": title, "version": "1", "description": f"{description} {notes}".strip()},
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": {auth.scheme_name: auth.scheme for auth in auths}},
        }
    )


# How ids.whole ends a pattern for msgspec's re.search: ``$`` not followed by a newline.
_MSGSPEC_END = "$(?!\n)"


def _published(node: Any) -> Any:
    """A copy of ``node`` as JSON Schema wants it.

    Regexes use the ECMA dialect, where ``$`` already means end of input. Times are refused before
    1970 (``platform_time``), so every date-time, in a schema or a parameter, carries that year pattern.
    """
    if isinstance(node, list):
        return [_published(value) for value in node]
    if not isinstance(node, dict):
        return node
    copy = {key: value.replace(_MSGSPEC_END, "$") if key == "pattern" and isinstance(value, str) else _published(value)
            for key, value in node.items()}
    if copy.get("format") == "date-time" and "pattern" not in copy:
        copy["pattern"] = PLATFORM_YEAR_PATTERN
    return copy


async def openapi_view(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])
