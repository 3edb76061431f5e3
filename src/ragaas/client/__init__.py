"""A typed Python client of the Ragaas REST API, sync (:class:`Ragaas`) and async
(:class:`AsyncRagaas`).

It needs only httpx and pydantic (not the server's database or model stack)::

    from ragaas.client import Ragaas

    with Ragaas("http://127.0.0.1:8000", api_key="rg_...") as client:
        doc = client.documents.create("Holidays", "Staff get 25 days of paid holiday.")
        client.documents.wait_until_ready(str(doc.id))
        print(client.chat("How much paid holiday do staff get?").answer)

See docs/sdk-python.md.
"""

from ragaas.client import models
from ragaas.client._async import AsyncRagaas
from ragaas.client._base import IngestionError
from ragaas.client._sync import Ragaas
from ragaas.client.errors import (
    AuthenticationError,
    ConflictError,
    ConnectionError,
    NotFoundError,
    PermissionDeniedError,
    RagaasError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from ragaas.client.streaming import AsyncChatStream, ChatStream

__all__ = [
    "AsyncChatStream",
    "AsyncRagaas",
    "AuthenticationError",
    "ChatStream",
    "ConflictError",
    "ConnectionError",
    "IngestionError",
    "NotFoundError",
    "PermissionDeniedError",
    "Ragaas",
    "RagaasError",
    "RateLimitError",
    "ServerError",
    "ValidationError",
    "models",
]
