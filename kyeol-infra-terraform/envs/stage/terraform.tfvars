# STAGE (runbook §1, §3): t3.medium x 2-4, db.t3.medium Multi-AZ, cache.t3.small with a replica.
# Values agree with kyeol.toml [envs.stage]. No secrets here: they are generated at apply time.
name_prefix = "jung-"
environment = "stage"
region      = "ap-northeast-1"
domain      = "mgz-g2-u3.shop"
vpc_cidr    = "10.20.0.0/16"

service_host = "stage.mgz-g2-u3.shop"
api_host     = "stage-api.mgz-g2-u3.shop"

node_instance_type = "t3.medium"
node_min_size      = 2
node_max_size      = 4
node_desired_size  = 2

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
