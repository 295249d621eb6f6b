"""steps: KYEOL's runbook on the generic engine in runbook/.

- phases/   the nine phases and the teardown, one module each (phase N: phases/phaseN_*.py)
- adapters/ the only code that touches the world (AWS, Kubernetes, GitHub, helm, terraform, HTTPS)
- wiring/   the `kyeol` CLI, kyeol.toml, the project graph, the error catalogue and the glue
"""
