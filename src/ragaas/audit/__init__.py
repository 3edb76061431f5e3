"""The audit log: record who changed what, and let admins read and export it."""

from ragaas.audit.service import Actor, changed, record, record_system_event, redact

__all__ = ["Actor", "changed", "record", "record_system_event", "redact"]
