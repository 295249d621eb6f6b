# DEV (runbook §1, §3): t3.medium x 2, db.t3.small single-AZ, cache.t3.micro single.
# Values agree with kyeol.toml [envs.dev]. No secrets here: they are generated at apply time.
name_prefix = "jung-"
environment = "dev"
region      = "ap-northeast-1"
domain      = "mgz-g2-u3.shop"
vpc_cidr    = "10.10.0.0/16"

service_host = "dev.mgz-g2-u3.shop"
api_host     = "dev-api.mgz-g2-u3.shop"

node_instance_type = "t3.medium"
node_min_size      = 2
node_max_size      = 2
node_desired_size  = 2

rds_instance_class = "db.t3.small"
rds_multi_az       = false

cache_node_type          = "cache.t3.micro"
cache_num_cache_clusters = 1

# Disposable environment: one NAT gateway, database deletable, secrets deleted at once.
single_nat_gateway  = true
deletion_protection = false

mgmt_account_id = "123456789012"

# Public API endpoint allow-list. TEST-NET-3 documentation range: replace with your operator
# network and MGMT's NAT addresses (/32 each) before a real deploy, like the account ids.
operator_cidrs = ["203.0.113.0/24"]
mgmt_nat_cidrs = []
