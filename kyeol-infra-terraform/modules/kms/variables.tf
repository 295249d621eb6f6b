################################################################################
# Key
################################################################################

variable "name" {
  description = "Name of the key; the alias is `alias/<name>` (`<prefix>…`, e.g. `jung-dev`)"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-[a-z0-9-]+$", var.name))
    error_message = "The key name must start with the name prefix (lowercase, ending in `-`, e.g. `jung-`) and use lowercase letters, digits and dashes."
  }
}

variable "description" {
  description = "What the key protects (shown in the KMS console)"
  type        = string
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled deletion completes, 7 to 30 days"
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

################################################################################
# Service access (key policy)
################################################################################

variable "enable_cloudwatch_logs" {
  description = "Let CloudWatch Logs in this region encrypt log groups of this account with the key"
  type        = bool
  default     = true
}

variable "enable_log_delivery" {
  description = "Let the log delivery service (`delivery.logs.amazonaws.com`, CloudFront standard logs) write objects encrypted with the key"
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to the key"
  type        = map(string)
  default     = {}
}
