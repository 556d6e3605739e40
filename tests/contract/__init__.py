"""Contract tests: one suite that a real edge and its in-memory twin both pass."""
