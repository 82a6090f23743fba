"""How the platform's Kafka clients connect: plaintext to a local broker, TLS to Amazon MSK.

aiokafka (and faust, on top of it) needs an SSL context for TLS; librdkafka (ingest) takes
``security.protocol`` alone. MSK's broker certificates are signed by a public authority
(Amazon Trust Services), so the system's trust store is all a client needs.
"""

from __future__ import annotations

import ssl
from typing import Any


def uses_tls(security_protocol: str) -> bool:
    return security_protocol == "SSL"


def aiokafka_security(security_protocol: str) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (consumer, producer, admin)."""
    if uses_tls(security_protocol):
        return {"security_protocol": security_protocol, "ssl_context": ssl.create_default_context()}
    return {"security_protocol": security_protocol}
