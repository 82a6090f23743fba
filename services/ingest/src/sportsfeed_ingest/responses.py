"""Response bodies of the provider API. The handlers encode these very types, and
``/openapi.json`` is generated from them, so the document cannot drift from behaviour."""

from __future__ import annotations

from sportsfeed_common.http import Body


class OddsAccepted(Body, kw_only=True):
    accepted: int
    ids: list[str]


class FeedsAccepted(Body, kw_only=True):
    message: str = "Feeds Added Successfully"
    accepted: int
    ids: list[str]


class GamesAccepted(Body, kw_only=True):
    accepted: int
    game_ids: list[str]
