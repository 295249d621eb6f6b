"""Benchmarks of the engine on KYEOL's real step graph: wall time against the critical path,
the overhead of a no-op re-deploy, and CLI start-up. Run ``python -m benchmarks.run``.

They measure the engine (scheduler, checkpoints with fsync, locks, reports), never the cloud:
every external call is replaced by a stand-in step that sleeps a realistic, scaled duration.
"""
