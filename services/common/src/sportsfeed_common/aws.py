"""DynamoDB client arguments shared by every service and command."""

from __future__ import annotations

from typing import Any

from .settings import CommonSettings


def dynamodb_client_kwargs(settings: CommonSettings) -> dict[str, Any]:
    """Keyword arguments for ``boto3.client("dynamodb", ...)`` or aioboto3's equivalent.

    With ``DYNAMODB_ENDPOINT`` set (DynamoDB Local) the server ignores
    credentials but the SDK still insists on having some, so fixed local ones
    are supplied. Unset (AWS), the SDK's default chain (IRSA on EKS) applies.
    """
    kwargs: dict[str, Any] = {"region_name": settings.aws_region}
    if settings.dynamodb_endpoint:
        kwargs.update(
            endpoint_url=settings.dynamodb_endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
    return kwargs
