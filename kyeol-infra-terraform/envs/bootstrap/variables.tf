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

variable "environment" {
  description = "Tag value for the `environment` default tag: the state store is `shared` by every environment"
  type        = string
  default     = "shared"

  validation {
    condition     = var.environment == "shared"
    error_message = "The bootstrap root is shared by every environment: environment must be `shared`."
  }
}

variable "region" {
  description = "Region of the state bucket and lock table (runbook: ap-northeast-1)"
  type        = string
  default     = "ap-northeast-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as ap-northeast-1."
  }
}

################################################################################
# State bucket
################################################################################

variable "state_bucket" {
  description = "Name of the state bucket, `<prefix>kyeol-tfstate-<MGMT account>` (kyeol passes the name it derives from kyeol.toml); null derives it from the account applying"
  type        = string
  default     = null

  validation {
    condition     = var.state_bucket == null || can(regex("^${var.name_prefix}kyeol-tfstate-[0-9]{12}$", var.state_bucket))
    error_message = "state_bucket must be `<name_prefix>kyeol-tfstate-<12-digit account id>`."
  }
}

variable "lock_table" {
  description = "Name of the DynamoDB lock table, `<prefix>kyeol-tflock` (kyeol passes it); null derives it from name_prefix"
  type        = string
  default     = null

  validation {
    condition     = var.lock_table == null || var.lock_table == "${var.name_prefix}kyeol-tflock"
    error_message = "lock_table must be `<name_prefix>kyeol-tflock` (docs/architecture.md §5)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days old state versions are kept (they allow rolling back a broken state)"
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 30
    error_message = "Keep old state versions at least 30 days."
  }
}

variable "access_log_retention_days" {
  description = "Days the state bucket's server access logs are kept (ISMS-P: access records 2 years, 731 days by default)"
  type        = number
  default     = 731

  validation {
    condition     = var.access_log_retention_days >= 90
    error_message = "Keep access logs at least 90 days."
  }
}
