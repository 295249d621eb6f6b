################################################################################
# Instance
################################################################################

variable "name" {
  description = "Base name (`<prefix><env>`, e.g. `jung-dev`): instance `<name>-postgres`, secret `<name>-saleor-db`"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-(dev|stage|prod)$", var.name))
    error_message = "name must be `<prefix><env>`: a name prefix (lowercase, ending in `-`, e.g. `jung-`) then dev, stage or prod."
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
  description = "Master user name (its password is generated at apply time and written only to the instance and `<name>-saleor-db`)"
  type        = string
  default     = "saleor"
}

variable "password_version" {
  description = "Bump to generate a new master password and write it to the instance and `<name>-saleor-db` (rotation; then restart the Saleor pods)"
  type        = number
  default     = 1

  validation {
    condition     = var.password_version >= 1 && floor(var.password_version) == var.password_version
    error_message = "password_version must be a whole number, at least 1 (bump it by one to rotate)."
  }
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
  description = "Days the exported PostgreSQL logs are kept (at least one year) (ISMS-P: access records 2 years, 731 days by default)"
  type        = number
  default     = 731

  validation {
    condition     = contains([731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a CloudWatch retention value of at least 731 (2 years: connection logs are access records)."
  }
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the connection secret"
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

variable "allowed_security_groups" {
  # A map whose keys are written in the caller: for_each needs keys known at plan time, and
  # a security group id (the EKS cluster's) is known only after apply.
  description = "Security groups, by a name known at plan time, allowed to connect on 5432 (the EKS cluster security group the nodes and pods use)"
  type        = map(string)
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
