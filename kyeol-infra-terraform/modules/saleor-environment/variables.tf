# An application environment (DEV, STAGE, PROD) as one unit. The env roots validate every
# input a person sets (terraform.tfvars) and pass it on unchanged; the called modules check
# the names built from it.

################################################################################
# Common
################################################################################

variable "name_prefix" {
  description = "Prefix of every name (kyeol.toml `project.prefix`, e.g. `jung-`); names are `<prefix><environment>…`"
  type        = string
}

variable "environment" {
  description = "Environment name: `dev`, `stage` or `prod`"
  type        = string
}

variable "domain" {
  description = "Public hosted zone (looked up, not created)"
  type        = string
}

variable "service_host" {
  description = "Public storefront host (runbook §1: `dev.`, `stage.`, prod the apex)"
  type        = string
}

variable "api_host" {
  description = "Public API host (runbook §1: `dev-api.`, `stage-api.`, prod `api.`)"
  type        = string
}

variable "mgmt_account_id" {
  description = "AWS account of MGMT, whose Argo CD manager role may assume this env's deployer role"
  type        = string
}

variable "deletion_protection" {
  description = "Protect the database from deletion and keep secrets recoverable for 30 days (false: deletable, secrets deleted at once)"
  type        = bool
}

################################################################################
# VPC
################################################################################

variable "azs" {
  description = "The three availability zones of the VPC, by name"
  type        = list(string)
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC, a private /16 to /20: private subnets take three quarters, public, database (and PG NAT) /22s the last quarter"
  type        = string
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the whole VPC instead of one per AZ"
  type        = bool
}

################################################################################
# EKS
################################################################################

variable "kubernetes_version" {
  description = "Kubernetes `<major>.<minor>` of the cluster"
  type        = string
}

variable "node_instance_type" {
  description = "Instance type of every node group (runbook §3: `t3.medium`)"
  type        = string
}

variable "node_min_size" {
  description = "Minimum nodes of the whole cluster (with `create_pg_nat`, the PG egress group included)"
  type        = number
}

variable "node_max_size" {
  description = "Maximum nodes of the whole cluster (with `create_pg_nat`, the PG egress group included)"
  type        = number
}

variable "node_desired_size" {
  description = "Desired nodes of the whole cluster, between min and max"
  type        = number
}

variable "operator_cidrs" {
  description = "Networks allowed to reach the cluster's public API endpoint (where kyeol runs)"
  type        = list(string)
}

variable "mgmt_nat_cidrs" {
  description = "MGMT's NAT gateway addresses (/32), from which Argo CD calls this cluster's API"
  type        = list(string)
}

variable "cluster_admin_principal_arns" {
  description = "Extra IAM principals given cluster-admin access entries"
  type        = list(string)
}

################################################################################
# RDS (PostgreSQL)
################################################################################

variable "rds_instance_class" {
  description = "RDS instance class (runbook §3: dev `db.t3.small`, stage/prod `db.t3.medium`)"
  type        = string
}

variable "rds_multi_az" {
  description = "Multi-AZ standby (runbook §3: dev single, stage/prod Multi-AZ)"
  type        = bool
}

################################################################################
# Valkey
################################################################################

variable "cache_node_type" {
  description = "Valkey node type (runbook §3: dev `cache.t3.micro`, stage/prod `cache.t3.small`)"
  type        = string
}

variable "cache_num_cache_clusters" {
  description = "Valkey nodes: 1 = single; 2 or more = primary + replicas with failover"
  type        = number
}

################################################################################
# Generated secrets (bump a version to generate and write a new value)
################################################################################

variable "app_secret_version" {
  description = "Version of the generated SECRET_KEY/RSA_PRIVATE_KEY in `<prefix><env>-saleor-app`"
  type        = number
}

variable "db_password_version" {
  description = "Version of the generated PostgreSQL master password in the instance and `<prefix><env>-saleor-db`"
  type        = number
}

variable "cache_auth_token_version" {
  description = "Version of the generated Valkey AUTH token"
  type        = number
}

variable "origin_verify_version" {
  description = "Version of the generated X-Origin-Verify value"
  type        = number
}

################################################################################
# PG NAT (PROD only, runbook §2.2)
################################################################################

variable "create_pg_nat" {
  description = "Create the dedicated PG NAT (fixed egress IP) and its tainted node group; PROD only (the pg-nat module refuses other names)"
  type        = bool
  default     = false
}

variable "pg_node_min_size" {
  description = "Minimum nodes of the PG egress node group, counted in `node_min_size` (used with `create_pg_nat`)"
  type        = number
  default     = 1
}

variable "pg_node_max_size" {
  description = "Maximum nodes of the PG egress node group, counted in `node_max_size` (used with `create_pg_nat`)"
  type        = number
  default     = 1
}

variable "pg_node_desired_size" {
  description = "Desired nodes of the PG egress node group, counted in `node_desired_size` (used with `create_pg_nat`)"
  type        = number
  default     = 1
}
