"""The simulated world in CI (issue 10): the `World` state machine, bounded by the `world-ci`
hypothesis profile (a few minutes on two cores). A longer run: `python -m benchmarks.world`;
another seed: `pytest tests/world --hypothesis-seed=N` (and `--hypothesis-profile=world-long`)."""

from __future__ import annotations

from hypothesis import settings

from tests.world.world import World

TestWorld = World.TestCase
TestWorld.settings = settings(settings.get_profile("world-ci"))
