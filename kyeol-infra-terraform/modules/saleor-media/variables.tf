################################################################################
# Environment
################################################################################

variable "name" {
  description = "Base name (`<prefix><env>`, e.g. `jung-dev`): buckets `<name>-saleor-media-<account>` and `<name>-saleor-media-logs-<account>`"
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
# Media bucket
################################################################################

variable "key_prefix" {
  description = "Folder Saleor writes under (its AWS_LOCATION), also the URL path CloudFront serves (`/media/*`)"
  type        = string
  default     = "media"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*$", var.key_prefix))
    error_message = "key_prefix must be one path segment of lowercase letters, digits and dashes, without slashes (e.g. `media`)."
  }
}

variable "cloudfront_distribution_arn" {
  description = "ARN of the one CloudFront distribution that may read the media (origin access control, `AWS:SourceArn`)"
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:cloudfront::[0-9]{12}:distribution/[A-Z0-9]+$", var.cloudfront_distribution_arn))
    error_message = "cloudfront_distribution_arn must be a CloudFront distribution ARN (arn:aws:cloudfront::<account>:distribution/<id>)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted media object stays restorable"
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
  description = "Days S3 server access logs of the media bucket are kept (ISMS-P: access records 2 years, 731 days by default)"
  type        = number
  default     = 731

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
