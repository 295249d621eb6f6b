"""What turns the phases into the `kyeol` command: the CLI, the configuration (kyeol.toml),
the project graph (which steps exist, per env), the adapters' construction (services), the
error catalogue and the glue that hands all of it to the generic engine in runbook/."""
