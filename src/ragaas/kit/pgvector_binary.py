"""Vectors sent to PostgreSQL in pgvector's binary format instead of as text.

A query vector as a '[0.0123,...]' literal costs ~0.25 ms of Python to format (384 floats), and
seven significant digits are not always the exact float4; packed, it is a ~10 µs
``struct.pack``. The parameter goes out with no declared type, so the statement must say what it
is: ``CAST(:vec AS vector)``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format


class BinaryVector:
    """A vector for a ``CAST(:param AS vector)`` parameter (pgvector's ``vector_recv`` layout:
    dimensions, a reserved zero, then big-endian float4s)."""

    __slots__ = ("data",)

    def __init__(self, values: Sequence[float]) -> None:
        n = len(values)
        self.data = struct.pack(f">HH{n}f", n, 0, *values)


class _BinaryVectorDumper(Dumper):
    format = Format.BINARY  # oid stays 0: the server takes the type from the CAST

    def dump(self, obj: BinaryVector) -> bytes:
        return obj.data


# Every connection made from now on in this process knows the type.
psycopg.adapters.register_dumper(BinaryVector, _BinaryVectorDumper)
