"""The id grammar of the platform, in one place: game ids, provider ids, markets and sports.

Ids become parts of DynamoDB keys joined by '#', so '#' and whitespace are never allowed.
Every rule comes three ways, all from the same source:

- ``*_PATTERN``: the regex source, unanchored (for OpenAPI documents and composing larger regexes);
- ``*_REGEX``: compiled, for ``fullmatch`` on text that is not decoded by msgspec (query
  strings, configuration, command-line arguments);
- ``GameId``, ``ProviderId``, ``Market``, ``Sport``: msgspec types for the event and body fields.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec


def whole(pattern: str) -> str:
    r"""Anchor a regex to the whole string.

    msgspec matches with ``re.search``, where ``$`` also matches before a
    trailing newline; ``(?!\n)`` closes that gap and, unlike ``\Z``, is also
    valid in the JSON Schema (ECMA) dialect the OpenAPI documents use.
    """
    return f"^{pattern}$(?!\n)"


GAME_ID_PATTERN = r"game-[A-Za-z0-9][A-Za-z0-9._:-]{0,122}"
PROVIDER_ID_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
MARKET_PATTERN = r"[a-z0-9][a-z0-9_-]{0,31}"
SPORT_PATTERN = r"[a-z][a-z0-9_-]{0,31}"

GAME_ID_REGEX = re.compile(GAME_ID_PATTERN)
PROVIDER_ID_REGEX = re.compile(PROVIDER_ID_PATTERN)
MARKET_REGEX = re.compile(MARKET_PATTERN)
SPORT_REGEX = re.compile(SPORT_PATTERN)

GameId = Annotated[str, msgspec.Meta(pattern=whole(GAME_ID_PATTERN))]
ProviderId = Annotated[str, msgspec.Meta(pattern=whole(PROVIDER_ID_PATTERN))]
Market = Annotated[str, msgspec.Meta(pattern=whole(MARKET_PATTERN))]
Sport = Annotated[str, msgspec.Meta(pattern=whole(SPORT_PATTERN))]
