"""``sportsfeed-ingest-key PROVIDER``: make a new API key and the line that configures it.

The key is printed once, for the provider; only its hash goes into ingest's
configuration (``API_KEYS``).
"""

from __future__ import annotations

import argparse
import sys

from sportsfeed_common.ids import PROVIDER_ID_REGEX

from .auth import config_entry, new_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sportsfeed-ingest-key", description=__doc__.splitlines()[0])
    parser.add_argument("provider", help="provider id: lower-case letters, digits, '_' or '-'")
    args = parser.parse_args(argv)
    if not PROVIDER_ID_REGEX.fullmatch(args.provider):
        print(f"sportsfeed-ingest-key: {args.provider!r} is not a valid provider id", file=sys.stderr)
        return 2
    key = new_key()
    print(f"API key for {args.provider} (give it to the provider; it is not stored anywhere):\n  {key}")
    print(f"Add to ingest's API_KEYS (comma-separated):\n  {config_entry(args.provider, key)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
