"""All ORM models; importing this module registers every table on ``Base.metadata``."""

from ragaas.models.alert import Alert, AlertDelivery, DeliveryStatus
from ragaas.models.api_key import ApiKey
from ragaas.models.audit import ActorKind, AuditEvent
from ragaas.models.base import Base
from ragaas.models.certificate import Certificate, CertificateKind
from ragaas.models.chunk import Chunk
from ragaas.models.data_source import DataSource
from ragaas.models.document import Document, DocumentStatus
from ragaas.models.lexical import ChunkTerm, LexicalStats
from ragaas.models.login_failure import LoginFailure
from ragaas.models.organization import Organization
from ragaas.models.query_history import QueryHistory
from ragaas.models.rag_config import RagConfig
from ragaas.models.refresh_token import RefreshToken
from ragaas.models.rule import Rule
from ragaas.models.sso import SsoIdentity, SsoProvider
from ragaas.models.sync_run import SyncRun, SyncStatus
from ragaas.models.user import User

__all__ = [
    "ActorKind",
    "Alert",
    "AlertDelivery",
    "ApiKey",
    "AuditEvent",
    "Base",
    "Certificate",
    "CertificateKind",
    "Chunk",
    "ChunkTerm",
    "DataSource",
    "DeliveryStatus",
    "Document",
    "DocumentStatus",
    "LexicalStats",
    "LoginFailure",
    "Organization",
    "QueryHistory",
    "RagConfig",
    "RefreshToken",
    "Rule",
    "SsoIdentity",
    "SsoProvider",
    "SyncRun",
    "SyncStatus",
    "User",
]
