# The inputs of an application environment, shared by envs/dev, envs/stage and envs/prod:
# their variables.tf is a symlink to this file, so the three roots cannot drift apart. What
# differs per root lives in its env.tf (the environment's name; prod's PG NAT node group).

################################################################################
# Common
################################################################################

variable "name_prefix" {
  description = "Prefix of every name (kyeol.toml `project.prefix`; runbook: `jung-`)"
  type        = string
  default     = "jung-"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-$", var.name_prefix))
    error_message = "name_prefix must be a lowercase letter, 1-10 lowercase letters or digits, then `-` (kyeol.toml project.prefix, e.g. `jung-`)."
  }
}

variable "region" {
  description = "AWS region (runbook: ap-northeast-1)"
  type        = string
  default     = "ap-northeast-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as ap-northeast-1."
  }
}

variable "domain" {
  description = "Public hosted zone (runbook: `mgz-g2-u3.shop`)"
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a DNS name such as mgz-g2-u3.shop."
  }
}

variable "service_host" {
  description = "Public storefront host (runbook §1: `dev.`, `stage.`, prod the apex)"
  type        = string

  validation {
    condition     = var.service_host == var.domain || endswith(var.service_host, ".${var.domain}")
    error_message = "service_host must be the domain or a name under it."
  }
}

variable "api_host" {
  description = "Public API host (runbook §1: `dev-api.`, `stage-api.`, prod `api.`)"
  type        = string

  validation {
    condition     = var.api_host != var.service_host && endswith(var.api_host, ".${var.domain}")
    error_message = "api_host must be a name under the domain, different from service_host."
  }
}

variable "mgmt_account_id" {
  description = "AWS account of MGMT, whose Argo CD manager role may assume this env's deployer role (kyeol.toml `envs.mgmt.account_id`)"
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.mgmt_account_id))
    error_message = "mgmt_account_id must be a 12-digit AWS account id."
  }
}

variable "deletion_protection" {
  description = "Protect the database from deletion and keep secrets recoverable (false only in dev)"
  type        = bool
  default     = true
}

################################################################################
# VPC
################################################################################

variable "azs" {
  description = "The three availability zones of the VPC (ap-northeast-1b does not take new subnets)"
  type        = list(string)
  default     = ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]

  validation {
    condition     = length(distinct(var.azs)) == 3 && alltrue([for az in var.azs : startswith(az, var.region)])
    error_message = "Give three distinct availability zones of the region."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC, a private /16 to /20 (kyeol.toml `envs.<env>.cidr`)"
  type        = string

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && can(regex("/(1[6-9]|20)$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block between /16 and /20."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the whole VPC instead of one per AZ (cheaper; dev)"
  type        = bool
  default     = false
}

################################################################################
# EKS
################################################################################

variable "kubernetes_version" {
  description = "Kubernetes `<major>.<minor>` of the cluster"
  type        = string
  default     = "1.34"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like `1.34`."
  }
}

variable "node_instance_type" {
  description = "Instance type of the nodes (runbook §3: `t3.medium`)"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*\\.[a-z0-9]+$", var.node_instance_type))
    error_message = "node_instance_type must look like `t3.medium`."
  }
}

variable "node_min_size" {
  description = "Minimum nodes of the whole cluster, prod's PG egress group included (runbook §3: dev 2, stage 2, prod 3)"
  type        = number

  validation {
    condition     = var.node_min_size >= 1 && var.node_min_size <= 20
    error_message = "node_min_size must be between 1 and 20."
  }
}

variable "node_max_size" {
  description = "Maximum nodes of the whole cluster, prod's PG egress group included (runbook §3: dev 2, stage 4, prod 5)"
  type        = number

  validation {
    condition     = var.node_max_size >= var.node_min_size && var.node_max_size <= 20
    error_message = "node_max_size must be between node_min_size and 20."
  }
}

variable "node_desired_size" {
  description = "Desired nodes of the whole cluster, between min and max"
  type        = number

  validation {
    condition     = var.node_desired_size >= var.node_min_size && var.node_desired_size <= var.node_max_size
    error_message = "node_desired_size must be between node_min_size and node_max_size."
  }
}

variable "operator_cidrs" {
  description = "Networks allowed to reach the cluster's public API endpoint (where kyeol runs)"
  type        = list(string)

  validation {
    condition     = length(var.operator_cidrs) > 0 && alltrue([for c in var.operator_cidrs : can(cidrnetmask(c)) && c != "0.0.0.0/0"])
    error_message = "Give at least one IPv4 CIDR block; 0.0.0.0/0 is not allowed."
  }

  validation {
    # The repository ships TEST-NET-3 here, so that nobody applies a guess: a real deploy must
    # say where its operators are, or the API endpoint refuses kyeol from phase 4 on.
    condition = alltrue([for c in var.operator_cidrs : !try(
      tonumber(split("/", c)[1]) >= 24 && contains(["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"], cidrsubnet("${cidrhost(c, 0)}/24", 0, 0)),
    false)])
    error_message = "operator_cidrs holds a documentation range (TEST-NET 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24), the placeholder this repository ships: set it in terraform.tfvars to the public addresses kyeol, helm and kubectl run from (office or VPN egress, CI runners)."
  }
}

variable "mgmt_nat_cidrs" {
  description = "MGMT's NAT gateway addresses (/32), from which Argo CD calls this cluster's API"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.mgmt_nat_cidrs : can(cidrnetmask(c)) && c != "0.0.0.0/0"])
    error_message = "mgmt_nat_cidrs must be IPv4 CIDR blocks (0.0.0.0/0 is not allowed)."
  }
}

variable "cluster_admin_principal_arns" {
  description = "Extra IAM principals given cluster-admin access entries (the identity of the first apply has it already)"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.cluster_admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", a))])
    error_message = "cluster_admin_principal_arns must be IAM role or user ARNs."
  }
}

################################################################################
# RDS (PostgreSQL)
################################################################################

variable "rds_instance_class" {
  description = "RDS instance class (runbook §3: dev `db.t3.small`, stage/prod `db.t3.medium`)"
  type        = string

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.rds_instance_class))
    error_message = "rds_instance_class must look like `db.t3.small`."
  }
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

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.cache_node_type))
    error_message = "cache_node_type must look like `cache.t3.micro`."
  }
}

variable "cache_num_cache_clusters" {
  description = "Valkey nodes: 1 = single (dev); 2 = primary + replica with failover (stage/prod)"
  type        = number

  validation {
    condition     = var.cache_num_cache_clusters >= 1 && var.cache_num_cache_clusters <= 6
    error_message = "cache_num_cache_clusters must be between 1 and 6."
  }
}

################################################################################
# Secrets (bump a version to generate and write a new value)
################################################################################

variable "app_secret_version" {
  description = "Version of the generated SECRET_KEY/RSA_PRIVATE_KEY in `<prefix><env>-saleor-app`"
  type        = number
  default     = 1
}

variable "db_password_version" {
  description = "Version of the generated PostgreSQL master password in the instance and `<prefix><env>-saleor-db` (bump, apply, then restart the Saleor pods)"
  type        = number
  default     = 1
}

variable "cache_auth_token_version" {
  description = "Version of the generated Valkey AUTH token"
  type        = number
  default     = 1
}

variable "origin_verify_version" {
  description = "Version of the generated X-Origin-Verify value"
  type        = number
  default     = 1
}
