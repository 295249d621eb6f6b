variable "name" {
  description = "`<prefix><env>` (e.g. `jung-dev`): the bucket is `<name>-alb-logs-<account>`"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-[a-z0-9-]+$", var.name))
    error_message = "name must be `<prefix><env>`, e.g. `jung-dev`."
  }
}

variable "key_prefix" {
  description = "Prefix of the log objects (the Ingress's access_logs.s3.prefix)"
  type        = string
  default     = "alb"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*$", var.key_prefix))
    error_message = "key_prefix must be lowercase letters, digits and dashes, without slashes."
  }
}

variable "retention_days" {
  description = "Days ALB access logs are kept (ISMS-P: access records 2 years, 731 days by default)"
  type        = number
  default     = 731

  validation {
    condition     = var.retention_days >= 731
    error_message = "Keep ALB access logs at least 2 years (731 days)."
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
