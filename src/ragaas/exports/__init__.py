"""Exports (audit log, analytics reports): downloaded directly or written to the bucket."""
