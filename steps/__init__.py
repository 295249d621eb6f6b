"""steps: KYEOL's nine runbook phases and the adapters that touch the world."""
