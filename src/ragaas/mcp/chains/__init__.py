"""LLM chains behind the MCP tools: summarise, compare, extract fields, multi-part answers.

Each works with the configured LLM, and deterministically without one (extractive, from the
retrieved passages), always under the caller's RAG configuration and rules (``grounding.py``).
"""
