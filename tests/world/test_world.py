"""The simulated world in CI (issue 10): the `World` state machine, bounded by the `world-ci`
hypothesis profile (a few minutes on two cores, derandomized: the same examples every run).

Another seed: `pytest tests/world/test_world.py --hypothesis-seed=N`; longer:
`--hypothesis-profile=world-long`; for minutes on end: `python -m benchmarks.world`."""

from __future__ import annotations

import hypothesis.core
from hypothesis import settings

from tests.world.world import World

chosen = settings._current_profile  # set by --hypothesis-profile
profile = settings.get_profile(chosen if chosen.startswith("world") else "world-ci")
if hypothesis.core.global_force_seed is not None:  # --hypothesis-seed: that seed, not derandomized
    profile = settings(profile, derandomize=False)

TestWorld = World.TestCase
TestWorld.settings = profile
