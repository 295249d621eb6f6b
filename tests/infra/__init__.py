"""Offline checks of the kyeol-infra-terraform tree: provider schema, module interfaces, runbook conformance, checkov."""
