variable "bucket" {
  description = "Name of the log bucket (`<prefix>…-logs-<account>`: S3 names are global, so the account id ends them)"
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "bucket must be a valid S3 bucket name (3-63 lowercase letters, digits and hyphens)."
  }
}

variable "source_bucket_arns" {
  description = "ARNs of the buckets whose server access logs this bucket receives"
  type        = list(string)

  validation {
    condition     = length(var.source_bucket_arns) > 0 && alltrue([for arn in var.source_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]+$", arn))])
    error_message = "source_bucket_arns must be S3 bucket ARNs (arn:aws:s3:::<bucket>), at least one."
  }
}

variable "source_account_id" {
  description = "Account of the source buckets (aws:SourceAccount of the log deliveries)"
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.source_account_id))
    error_message = "source_account_id must be a 12-digit AWS account id."
  }
}

variable "key_prefix" {
  description = "Prefix the source buckets' aws_s3_bucket_logging uses as target_prefix"
  type        = string
  default     = "s3-access/"
}

variable "retention_days" {
  description = "Days access logs are kept"
  type        = number

  validation {
    condition     = var.retention_days >= 1
    error_message = "retention_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the bucket with its logs (disposable environments only)"
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket (the provider's default tags apply too)"
  type        = map(string)
  default     = {}
}
