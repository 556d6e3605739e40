"""Registers the world test's hypothesis profiles before hypothesis's pytest plugin loads the one
asked for, so that `pytest tests/world --hypothesis-profile=world-long` works."""

import tests.world.world  # noqa: F401  (registers world-ci, world-find, world-long)
