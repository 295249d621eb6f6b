################################################################################
# Application Secret
################################################################################

variable "name" {
  description = "Base name (`<prefix><env>`, e.g. `jung-dev`): the secret is `<name>-saleor-app`"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-(dev|stage|prod)$", var.name))
    error_message = "name must be `<prefix><env>`: a name prefix (lowercase, ending in `-`, e.g. `jung-`) then dev, stage or prod."
  }
}

variable "secret_version" {
  description = "Bump to generate a new SECRET_KEY and RSA_PRIVATE_KEY and write them as a new secret version (rotation)"
  type        = number
  default     = 1
}

variable "rsa_bits" {
  description = "Size of the RSA key Saleor signs JWTs with"
  type        = number
  default     = 4096

  validation {
    condition     = contains([2048, 3072, 4096], var.rsa_bits)
    error_message = "rsa_bits must be 2048, 3072 or 4096."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the secret"
  type        = string
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can be restored (0 deletes at once, for dev)"
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags added to the secret"
  type        = map(string)
  default     = {}
}
