"""DynamoDB client arguments shared by every service and command."""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from .settings import CommonSettings

# A client that answers people (the read API) gives up within seconds: a 503 they can retry beats a
# request that hangs through botocore's default connect timeout and retries.
INTERACTIVE = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


def dynamodb_client_kwargs(settings: CommonSettings, *, bulk_writer: bool = False,
                           interactive: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``boto3.client("dynamodb", ...)`` or aioboto3's equivalent.

    With ``DYNAMODB_ENDPOINT`` set (DynamoDB Local) the server ignores
    credentials but the SDK still insists on having some, so fixed local ones
    are supplied. Unset (AWS), the SDK's default chain (IRSA on EKS) applies.

    ``bulk_writer``: a client that only sends BatchWriteItem requests built from decoded events
    skips botocore's client-side parameter validation. Checking every attribute of every item
    was a third of the writer's CPU per item, and DynamoDB validates the request anyway. Its
    ValidationException is what the batch writer turns into ``ItemsRefused``, so a refused batch
    is parked; botocore's ParamValidationError is a BotoCoreError, which the writer retries.

    ``interactive``: a client whose every call a person waits for (see ``INTERACTIVE``).
    """
    kwargs: dict[str, Any] = {"region_name": settings.aws_region}
    if bulk_writer:
        kwargs["config"] = Config(parameter_validation=False)
    if interactive:
        kwargs["config"] = INTERACTIVE
    if settings.dynamodb_endpoint:
        kwargs.update(
            endpoint_url=settings.dynamodb_endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
    return kwargs
