"""Provider authentication by ``X-API-Key``.

Configuration holds only SHA-256 hashes of the keys. Keys are long random
tokens, so a fast hash is enough (there is nothing to brute-force that a slow
hash would protect), and the per-request cost stays negligible.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from sportsfeed_common.ids import PROVIDER_ID_PATTERN

API_KEY_HEADER = "X-API-Key"
KEY_PREFIX = "sfk_"

_ENTRY = re.compile(rf"(?P<provider>{PROVIDER_ID_PATTERN})=sha256:(?P<digest>[0-9a-f]{{64}})")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_api_keys(config: str) -> dict[str, str]:
    """``provider=sha256:<hex>,...`` into {digest: provider}. A provider may hold several keys (rotation)."""
    digests: dict[str, str] = {}
    for position, entry in enumerate(part.strip() for part in config.split(",") if part.strip()):
        match = _ENTRY.fullmatch(entry)
        if match is None:
            # Never echo the entry: someone may have pasted a plain key here by mistake.
            raise ValueError(
                f"API_KEYS: entry {position + 1} is not provider=sha256:<64 hex digits>"
            )
        digests[match["digest"]] = match["provider"]
    return digests


class ApiKeys:
    def __init__(self, config: str) -> None:
        self._providers_by_digest = parse_api_keys(config)

    def provider_for(self, key: str | None) -> str | None:
        """The provider owning ``key``, or ``None`` for a missing or unknown key."""
        if not key:
            return None
        return self._providers_by_digest.get(hash_key(key))


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def config_entry(provider: str, key: str) -> str:
    return f"{provider}=sha256:{hash_key(key)}"
