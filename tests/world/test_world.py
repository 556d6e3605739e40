"""The simulated world in CI (issues 10 and 22): the `World` state machine around a Logseq graph
and `ObsidianWorld` around an Obsidian vault, bounded by the `world-ci` and `world-ci-obsidian`
hypothesis profiles (a few minutes on two cores, derandomized: the same examples every run).

Another seed: `pytest tests/world/test_world.py --hypothesis-seed=N`; longer:
`--hypothesis-profile=world-long`; for minutes on end: `python -m benchmarks.world`."""

from __future__ import annotations

import hypothesis.core
import pytest
from hypothesis import settings

from tests.world.world import ObsidianWorld, World

# Two-way sync is on in a share of the examples (`World.push_switch`): those write to the
# loopback Readwise; with it off the world itself asserts that no write request was sent.
pytestmark = pytest.mark.writes_readwise

chosen = settings._current_profile  # set by --hypothesis-profile
profile = settings.get_profile(chosen if chosen.startswith("world") else "world-ci")
obsidian = settings.get_profile(chosen if chosen.startswith("world") else "world-ci-obsidian")
if hypothesis.core.global_force_seed is not None:  # --hypothesis-seed: that seed, not derandomized
    profile = settings(profile, derandomize=False)
    obsidian = settings(obsidian, derandomize=False)

TestWorld = World.TestCase
TestWorld.settings = profile
TestObsidianWorld = ObsidianWorld.TestCase
TestObsidianWorld.settings = obsidian
