################################################################################
# Replication Group
################################################################################

variable "name" {
  description = "Base name (`<prefix><env>`, e.g. `jung-dev`): replication group `<name>-valkey`, secret `<name>-saleor-cache`"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-(dev|stage|prod)$", var.name))
    error_message = "name must be `<prefix><env>`: a name prefix (lowercase, ending in `-`, e.g. `jung-`) then dev, stage or prod."
  }
}

variable "engine_version" {
  description = "Valkey `<major>.<minor>` version (8.x)"
  type        = string
  default     = "8.0"

  validation {
    condition     = can(regex("^8\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be Valkey 8.x (e.g. `8.0`)."
  }
}

variable "node_type" {
  description = "Cache node type (runbook §3: dev `cache.t3.micro`, stage/prod `cache.t3.small`)"
  type        = string

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.node_type))
    error_message = "node_type must look like `cache.t3.micro`."
  }
}

variable "num_cache_clusters" {
  description = "Nodes in the group: 1 = single primary (dev); 2+ = primary and replicas with automatic failover across AZs"
  type        = number

  validation {
    condition     = var.num_cache_clusters >= 1 && var.num_cache_clusters <= 6
    error_message = "num_cache_clusters must be between 1 and 6."
  }
}

variable "snapshot_retention_limit" {
  description = "Days of automatic snapshots"
  type        = number
  default     = 7
}

variable "auth_token_version" {
  description = "Bump to generate a new AUTH token and write it to the group and the secret (rotation, ROTATE strategy)"
  type        = number
  default     = 1
}

variable "kms_key_arn" {
  description = "KMS key for data at rest and the connection secret"
  type        = string
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "VPC of the cache"
  type        = string
}

variable "subnet_ids" {
  description = "Private database subnets (no internet route)"
  type        = list(string)
}

variable "allowed_security_groups" {
  # A map whose keys are written in the caller: for_each needs keys known at plan time, and
  # a security group id (the EKS cluster's) is known only after apply.
  description = "Security groups, by a name known at plan time, allowed to connect on 6379 (the EKS cluster security group)"
  type        = map(string)
}

variable "secret_recovery_window_in_days" {
  description = "Days a deleted connection secret can be restored (0 deletes at once, for dev)"
  type        = number
  default     = 7
}

variable "log_retention_in_days" {
  description = "Days the slow and engine logs are kept (ISMS-P: access records 2 years, 731 days by default)"
  type        = number
  default     = 731

  validation {
    condition     = contains([731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a CloudWatch retention value of at least 731 (2 years)."
  }
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
