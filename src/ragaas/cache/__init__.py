"""Redis: the shared query-vector and search-result caches and the rate limits (all optional)."""
