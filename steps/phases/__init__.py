"""The runbook itself: one module per phase (1 bootstrap … 9 HTTPS verification) and the
teardown, in the order the runbook's table lists them. terraform_root holds what phases 1-3
and the teardown's Terraform step share. Phases reach the world only through steps.adapters."""
