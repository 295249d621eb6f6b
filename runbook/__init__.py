"""runbook: a generic, checkpointed step engine.

It knows steps, graphs, retries, state, locks, logs and reports; it knows nothing about
any cloud, cluster or product. The product plugs in through :class:`runbook.step.Step`
and :class:`runbook.project.Project`.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
