"""One root seed per run; every component draws from its own spawned generator.

Streams are keyed by name, so adding a component never shifts another's stream and paired
comparisons across algorithms see the same market (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


class SeedTree:
    def __init__(self, root_seed: int) -> None:
        if root_seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {root_seed}")
        self.root_seed = root_seed

    def sequence(self, name: str) -> np.random.SeedSequence:
        """Seed sequence for `name` (e.g. 'venue/binance', 'algo/P1'), stable across versions."""
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")
        return np.random.SeedSequence(entropy=self.root_seed, spawn_key=(key,))

    def generator(self, name: str) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(self.sequence(name)))
