################################################################################
# Instance
################################################################################

variable "name" {
  description = "Base name (e.g. `jung-dev`): instance `<name>-postgres`, secret `<name>-saleor-db`"
  type        = string

  validation {
    condition     = can(regex("^jung-(dev|stage|prod)$", var.name))
    error_message = "name must be `jung-dev`, `jung-stage` or `jung-prod`."
  }
}

variable "engine_version" {
  description = "PostgreSQL version: `17` (newest 17.x, minor upgrades automatic) or a full `17.x`"
  type        = string
  default     = "17"

  validation {
    condition     = can(regex("^17(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be PostgreSQL 17 (`17` or `17.x`)."
  }
}

variable "instance_class" {
  description = "RDS instance class (runbook §3: dev `db.t3.small`, stage/prod `db.t3.medium`)"
  type        = string

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must look like `db.t3.small`."
  }
}

variable "multi_az" {
  description = "Run a synchronous standby in a second AZ (runbook §3: stage/prod)"
  type        = bool
  default     = true
}

variable "allocated_storage" {
  description = "Initial storage in GiB (gp3)"
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20
    error_message = "allocated_storage must be at least 20 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Upper bound for storage autoscaling in GiB"
  type        = number
  default     = 100
}

variable "db_name" {
  description = "Database created at launch"
  type        = string
  default     = "saleor"
}

variable "username" {
  description = "Master user name (its password is generated and kept by RDS in Secrets Manager)"
  type        = string
  default     = "saleor"
}

variable "backup_retention_period" {
  description = "Days of automated backups (7 to 35)"
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_period >= 7 && var.backup_retention_period <= 35
    error_message = "backup_retention_period must be between 7 and 35 days."
  }
}

variable "deletion_protection" {
  description = "Refuse deletes and keep a final snapshot (on everywhere but dev)"
  type        = bool
  default     = true
}

variable "log_retention_in_days" {
  description = "Days the exported PostgreSQL logs are kept (at least one year)"
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_in_days >= 365
    error_message = "log_retention_in_days must be at least 365."
  }
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights, the managed master secret and the connection secret"
  type        = string
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "VPC of the database"
  type        = string
}

variable "subnet_ids" {
  description = "Private database subnets (no internet route)"
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on 5432 (the EKS cluster security group the nodes and pods use)"
  type        = list(string)
}

variable "secret_recovery_window_in_days" {
  description = "Days a deleted connection secret can be restored (0 deletes at once, for dev)"
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
