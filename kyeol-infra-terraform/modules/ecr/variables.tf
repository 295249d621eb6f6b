################################################################################
# Repositories
################################################################################

variable "name_prefix" {
  description = "Prefix of every name (kyeol.toml `project.prefix`, e.g. `jung-`)"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-$", var.name_prefix))
    error_message = "name_prefix must be a lowercase letter, 1-10 lowercase letters or digits, then `-` (e.g. `jung-`)."
  }
}

variable "repository_names" {
  description = "Repositories to create (`<prefix>saleor-api`, `-dashboard`, `-storefront`)"
  type        = list(string)

  validation {
    condition     = length(var.repository_names) > 0 && alltrue([for n in var.repository_names : startswith(n, var.name_prefix) && can(regex("^[a-z0-9-]+$", n))])
    error_message = "Repository names must start with name_prefix and use lowercase letters, digits and dashes."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the images"
  type        = string
}

variable "max_tagged_images" {
  description = "Tagged images kept per repository (older ones expire)"
  type        = number
  default     = 50
}

variable "untagged_image_expiry_days" {
  description = "Days after which untagged images (build leftovers) expire"
  type        = number
  default     = 7
}

################################################################################
# Cross-account pull
################################################################################

variable "pull_account_ids" {
  description = "AWS accounts of the environments whose EKS node roles may pull (their own IAM grants ECR read)"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.pull_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "pull_account_ids must be 12-digit AWS account ids."
  }
}

variable "pull_role_name_pattern" {
  description = "IAM role names (wildcards allowed) in those accounts that may pull; null: the EKS node roles, `<prefix>*-eks-node`"
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every repository"
  type        = map(string)
  default     = {}
}
