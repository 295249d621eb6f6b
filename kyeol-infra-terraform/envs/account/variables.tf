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
  description = "Tag value for the `environment` default tag: the account baseline serves every environment"
  type        = string
  default     = "shared"

  validation {
    condition     = var.environment == "shared"
    error_message = "The account baseline is shared by every environment: environment must be `shared`."
  }
}

variable "region" {
  description = "Home region of the trail, its bucket and the regional controls (runbook: ap-northeast-1)"
  type        = string
  default     = "ap-northeast-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as ap-northeast-1."
  }
}

################################################################################
# CloudTrail
################################################################################

variable "create_trail" {
  description = "Create kyeol's multi-region trail; false when an organization trail already records this account (kyeol detects one and passes false, so nothing is duplicated)"
  type        = bool
  default     = true
}

variable "data_event_buckets" {
  description = "Buckets whose object-level (data) events the trail records: the Terraform state bucket, each env's media and private buckets (kyeol passes them)"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for b in var.data_event_buckets : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", b))])
    error_message = "data_event_buckets must be S3 bucket names."
  }
}

variable "audit_retention_days" {
  description = "Days trail and Config records are locked (Object Lock, governance mode) and kept: ISMS-P keeps access records at least 2 years"
  type        = number
  default     = 731

  validation {
    condition     = var.audit_retention_days >= 731
    error_message = "Keep audit records at least 2 years (731 days)."
  }
}

variable "access_log_retention_days" {
  description = "Days the trail bucket's own server access logs are kept"
  type        = number
  default     = 731

  validation {
    condition     = var.access_log_retention_days >= 731
    error_message = "Keep access records at least 2 years (731 days)."
  }
}

################################################################################
# Detection and configuration recording
################################################################################

variable "create_guardduty_detector" {
  description = "Create the region's GuardDuty detector; false when one already exists (a region has one detector per account; kyeol detects it and passes false)"
  type        = bool
  default     = true
}

variable "create_config_recorder" {
  description = "Create the region's AWS Config recorder and delivery channel; false when another recorder exists (one per region; kyeol detects it and passes false). The managed rules are created either way"
  type        = bool
  default     = true
}

variable "create_access_analyzer" {
  description = "Create an account IAM Access Analyzer; false when the region already has one (kyeol detects it and passes false)"
  type        = bool
  default     = true
}
