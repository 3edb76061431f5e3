"""Keeping the garbage collector's full collections off the request path."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Move what start-up allocated (modules, models, settings) where the collector never looks;
    once per process (the first app to start in it).

    The API process holds ~300k long-lived objects (torch, transformers, the app); every full
    collection walks them all — ~100 ms on these machines — in the middle of whichever request
    triggered it. Frozen, they are skipped, and a full collection walks only what came later.
    """
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
