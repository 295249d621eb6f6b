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
  description = "Tag value for the `environment` default tag: the edge certificate and web ACL are `shared` by every environment"
  type        = string
  default     = "shared"

  validation {
    condition     = var.environment == "shared"
    error_message = "The global root is shared by every environment: environment must be `shared`."
  }
}

variable "region" {
  description = "Region of this root: CloudFront certificates and CLOUDFRONT-scope web ACLs exist only in us-east-1"
  type        = string
  default     = "us-east-1"

  validation {
    condition     = var.region == "us-east-1"
    error_message = "CloudFront's certificate and WAF must be in us-east-1."
  }
}

variable "domain" {
  description = "The public hosted zone (runbook: `mgz-g2-u3.shop`)"
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a DNS name such as mgz-g2-u3.shop."
  }
}

################################################################################
# WAF
################################################################################

variable "waf_rate_limit" {
  description = "Requests per 5 minutes one client IP may send before the rate-based rule blocks it"
  type        = number
  default     = 2000

  validation {
    condition     = var.waf_rate_limit >= 100 && var.waf_rate_limit <= 2000000000
    error_message = "waf_rate_limit must be between 100 and 2,000,000,000 (AWS WAF limits)."
  }
}

variable "waf_log_retention_in_days" {
  description = "Days WAF logs are kept (at least one year) (ISMS-P: access records 2 years, 731 days by default)"
  type        = number
  default     = 731

  validation {
    condition     = var.waf_log_retention_in_days >= 365
    error_message = "waf_log_retention_in_days must be at least 365."
  }
}
