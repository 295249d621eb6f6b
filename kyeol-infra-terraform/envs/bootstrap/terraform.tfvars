# Bootstrap: the state store (runbook §5 phase 1). Local state; no secrets here.
name_prefix = "jung-"
environment = "shared"
region      = "ap-northeast-1"
