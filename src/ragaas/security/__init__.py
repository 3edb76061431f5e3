"""Security guards shared by connectors, webhooks and tools."""
