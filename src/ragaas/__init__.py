"""Ragaas: a self-hostable, multi-tenant RAG-as-a-Service backend."""

__version__ = "0.1.0"
