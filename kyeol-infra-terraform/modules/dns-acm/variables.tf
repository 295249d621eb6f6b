################################################################################
# Hosted Zone
################################################################################

variable "domain" {
  description = "The public hosted zone (`mgz-g2-u3.shop`); it already exists (registered domain)"
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a DNS name such as mgz-g2-u3.shop."
  }
}

################################################################################
# Certificate
################################################################################

variable "certificate_domain_name" {
  description = "Primary name of the certificate; null means the zone apex"
  type        = string
  default     = null
}

variable "subject_alternative_names" {
  description = "Other names on the certificate; null means the wildcard `*.<domain>`"
  type        = list(string)
  default     = null
}

variable "region" {
  description = "Region of the certificate: null = the provider's (ap-northeast-1, for the ALB); `us-east-1` for CloudFront"
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to the certificate"
  type        = map(string)
  default     = {}
}
