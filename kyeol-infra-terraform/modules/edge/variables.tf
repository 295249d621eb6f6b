################################################################################
# Environment
################################################################################

variable "name" {
  description = "Base name (`<prefix><env>`, e.g. `jung-dev`): secret `<name>-origin-verify`, bucket `<name>-cloudfront-logs-<account>`"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-(dev|stage|prod)$", var.name))
    error_message = "name must be `<prefix><env>`: a name prefix (lowercase, ending in `-`, e.g. `jung-`) then dev, stage or prod."
  }
}

variable "domain" {
  description = "Hosted zone and name of the us-east-1 certificate (`mgz-g2-u3.shop`, with `*.mgz-g2-u3.shop`)"
  type        = string
}

variable "hosted_zone_id" {
  description = "Public hosted zone where the viewer records are written"
  type        = string
}

################################################################################
# Hosts (runbook §1; origins are the names ExternalDNS points at the ALB)
################################################################################

variable "service_host" {
  description = "Viewer host of the storefront and dashboard (`dev.mgz-g2-u3.shop`; prod: the apex)"
  type        = string
}

variable "api_host" {
  description = "Viewer host of the GraphQL API (`dev-api.mgz-g2-u3.shop`; prod `api.`)"
  type        = string
}

variable "origin_service_host" {
  description = "Origin of the service distribution (`origin-dev.mgz-g2-u3.shop`; prod `origin.`)"
  type        = string
}

variable "origin_api_host" {
  description = "Origin of the API distribution (`origin-dev-api.mgz-g2-u3.shop`; prod `origin-api.`)"
  type        = string
}

################################################################################
# Media (S3 origin of the API distribution)
################################################################################

variable "media_bucket_regional_domain_name" {
  description = "Regional S3 endpoint of the media bucket (`<bucket>.s3.<region>.amazonaws.com`), origin of `/<media_key_prefix>/*` on the API host"
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]+\\.s3\\.[a-z0-9-]+\\.amazonaws\\.com$", var.media_bucket_regional_domain_name))
    error_message = "media_bucket_regional_domain_name must be a bucket's regional S3 endpoint, e.g. jung-dev-saleor-media-123456789012.s3.ap-northeast-1.amazonaws.com."
  }
}

variable "media_key_prefix" {
  description = "Folder of the media bucket Saleor writes under (AWS_LOCATION); CloudFront serves it at `/<media_key_prefix>/*`"
  type        = string
  default     = "media"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*$", var.media_key_prefix))
    error_message = "media_key_prefix must be one path segment of lowercase letters, digits and dashes (e.g. `media`)."
  }
}

################################################################################
# Distributions
################################################################################

variable "web_acl_name" {
  description = "The CLOUDFRONT-scope WAFv2 web ACL made by global/us-east-1 (`<prefix>cloudfront-waf`)"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-[a-z0-9-]+$", var.web_acl_name))
    error_message = "web_acl_name must start with the name prefix (lowercase, ending in `-`), e.g. `jung-cloudfront-waf`."
  }
}

variable "price_class" {
  description = "CloudFront price class: `PriceClass_100`, `PriceClass_200` (includes Japan and Korea) or `PriceClass_All`"
  type        = string
  default     = "PriceClass_200"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "hsts_max_age_seconds" {
  description = "Strict-Transport-Security max-age sent to viewers (at least one year)"
  type        = number
  default     = 63072000

  validation {
    condition     = var.hsts_max_age_seconds >= 31536000
    error_message = "hsts_max_age_seconds must be at least 31536000 (one year)."
  }
}

################################################################################
# Origin verification header
################################################################################

variable "origin_verify_version" {
  description = "Bump to generate a new X-Origin-Verify value (the ALB rule must accept the new value first)"
  type        = number
  default     = 1
}

variable "kms_key_arn" {
  description = "KMS key of the secret and the log bucket (its policy must allow `delivery.logs.amazonaws.com`)"
  type        = string
}

variable "secret_recovery_window_in_days" {
  description = "Days a deleted secret can be restored (0 deletes at once, for dev)"
  type        = number
  default     = 7
}

################################################################################
# Access logs
################################################################################

variable "log_retention_days" {
  description = "Days CloudFront access logs are kept (ISMS-P: access records 2 years, 731 days by default)"
  type        = number
  default     = 731
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}

variable "force_destroy" {
  description = "Let terraform destroy delete the bucket with its objects and their versions (dev: a disposable environment, so `kyeol destroy` can finish; never with deletion protection)"
  type        = bool
  default     = false
}
