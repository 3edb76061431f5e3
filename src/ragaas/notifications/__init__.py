"""Alerts per organisation, sent by signed webhooks and e-mail (docs/notifications.md)."""
