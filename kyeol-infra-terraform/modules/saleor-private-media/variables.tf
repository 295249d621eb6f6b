################################################################################
# Environment
################################################################################

variable "name" {
  description = "Base name (`<prefix><env>`, e.g. `jung-dev`): buckets `<name>-saleor-private-<account>` and `<name>-saleor-private-logs-<account>`"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-(dev|stage|prod)$", var.name))
    error_message = "name must be `<prefix><env>`: a name prefix (lowercase, ending in `-`, e.g. `jung-`) then dev, stage or prod."
  }
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}

################################################################################
# Private bucket
################################################################################

variable "key_prefix" {
  description = "Folder Saleor writes under (its AWS_LOCATION: private storage uses it too, e.g. `media/payloads/`)"
  type        = string
  default     = "media"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*$", var.key_prefix))
    error_message = "key_prefix must be one path segment of lowercase letters, digits and dashes, without slashes (e.g. `media`)."
  }
}

variable "kms_key_arn" {
  description = "The env's KMS key (SSE-KMS of every object)"
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-)?[0-9a-f-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object stays restorable"
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

################################################################################
# Access logs
################################################################################

variable "access_log_retention_days" {
  description = "Days S3 server access logs of the private bucket are kept"
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the bucket with its objects and their versions (dev: a disposable environment, so `kyeol destroy` can finish; never with deletion protection)"
  type        = bool
  default     = false
}
