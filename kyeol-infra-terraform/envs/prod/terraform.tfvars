# PROD (runbook §1, §3): t3.medium x 3-5 in total, db.t3.medium Multi-AZ, cache.t3.small with a
# replica, plus the dedicated PG NAT (runbook §2.2). Values agree with kyeol.toml [envs.prod].
# No secrets here: they are generated at apply time.
name_prefix = "jung-"
environment = "prod"
region      = "ap-northeast-1"
domain      = "mgz-g2-u3.shop"
vpc_cidr    = "10.30.0.0/16"

service_host = "mgz-g2-u3.shop"
api_host     = "api.mgz-g2-u3.shop"

# The whole cluster, the PG egress node below included: the main node group gets 2-4 (2).
node_instance_type = "t3.medium"
node_min_size      = 3
node_max_size      = 5
node_desired_size  = 3

rds_instance_class = "db.t3.medium"
rds_multi_az       = true

cache_node_type          = "cache.t3.small"
cache_num_cache_clusters = 2

single_nat_gateway  = false
deletion_protection = true

mgmt_account_id = "123456789012"

# Public API endpoint allow-list. TEST-NET-3 documentation range: replace with your operator
# network and MGMT's NAT addresses (/32 each) before a real deploy, like the account ids.
operator_cidrs = ["203.0.113.0/24"]
mgmt_nat_cidrs = []

# Dedicated PG egress node group (taint dedicated=pg-egress:NoSchedule, label kyeol.io/egress=pg):
# one node, counted in node_*_size above.
pg_node_min_size     = 1
pg_node_max_size     = 1
pg_node_desired_size = 1
