"""What the app does once at start-up for the requests that follow."""

from __future__ import annotations

import gc

import httpx


async def test_start_up_objects_are_kept_out_of_the_collectors_full_passes(
    client: httpx.AsyncClient,
) -> None:
    # The app started (the client fixture ran its lifespan): the modules, models and settings it
    # loaded are frozen, so a full collection during a request no longer walks them all.
    assert gc.get_freeze_count() > 100_000
    assert (await client.get("/health")).status_code == 200
