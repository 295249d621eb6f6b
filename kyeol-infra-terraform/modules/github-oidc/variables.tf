################################################################################
# GitHub OIDC provider
################################################################################

variable "create_provider" {
  description = "Create the account's GitHub OIDC provider (an account has at most one per URL; set false if it already exists)"
  type        = bool
  default     = true
}

################################################################################
# Role
################################################################################

variable "name_prefix" {
  description = "Prefix of every name (kyeol.toml `project.prefix`, e.g. `jung-`)"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-$", var.name_prefix))
    error_message = "name_prefix must be a lowercase letter, 1-10 lowercase letters or digits, then `-` (e.g. `jung-`)."
  }
}

variable "role_name" {
  description = "Name of the role GitHub Actions assumes to push images (`<prefix>mgmt-github-ecr-push`)"
  type        = string

  validation {
    condition     = startswith(var.role_name, var.name_prefix) && can(regex("^[a-z0-9-]+$", var.role_name))
    error_message = "role_name must start with name_prefix and use lowercase letters, digits and dashes."
  }
}

variable "github_repository" {
  description = "`OWNER/REPO` whose main branch may push (legacy subject `repo:OWNER/REPO:ref:refs/heads/main`)"
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/REPO."
  }
}

variable "github_owner_id" {
  description = "Numeric id of the repository owner, for GitHub's immutable subject `repo:OWNER@<owner id>/REPO@<repo id>:…` (repos created from 2026-07-15); null to trust only the legacy subject"
  type        = string
  default     = null

  validation {
    condition     = var.github_owner_id == null || can(regex("^[0-9]+$", var.github_owner_id))
    error_message = "github_owner_id must be digits."
  }
}

variable "github_repository_id" {
  description = "Numeric id of the repository, for the immutable subject; null to trust only the legacy subject"
  type        = string
  default     = null

  validation {
    condition     = var.github_repository_id == null || can(regex("^[0-9]+$", var.github_repository_id))
    error_message = "github_repository_id must be digits."
  }
}

variable "ecr_repository_arns" {
  description = "The repositories the role may push to (and only those)"
  type        = list(string)
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}

################################################################################
# kyeol in GitHub Actions (plan and deploy roles)
################################################################################

variable "plan_role_name" {
  description = "Name of the role pull requests assume for read-only plans (default `<prefix>mgmt-github-plan`)"
  type        = string
  default     = null
}

variable "drift_environment" {
  description = "GitHub environment of the nightly drift job, trusted by the plan role besides pull requests (null: pull requests only)"
  type        = string
  default     = "drift"

  validation {
    condition     = var.drift_environment == null || !contains(["dev", "stage", "prod"], coalesce(var.drift_environment, "-"))
    error_message = "drift_environment must not be a deploy environment: the plan role would then be assumable by deploy jobs."
  }
}

variable "deploy_environments" {
  description = "GitHub environments that get a deploy role `<prefix><env>-github-deploy` (subject `repo:OWNER/REPO:environment:<env>`)"
  type        = list(string)
  default     = ["dev", "stage", "prod"]

  validation {
    condition     = alltrue([for env in var.deploy_environments : contains(["dev", "stage", "prod"], env)])
    error_message = "deploy_environments may only name dev, stage and prod."
  }
}

variable "state_bucket" {
  description = "The Terraform/kyeol state bucket (default `<prefix>kyeol-tfstate-<account>`, as envs/bootstrap names it)"
  type        = string
  default     = null
}

variable "lock_table" {
  description = "The Terraform lock table (default `<prefix>kyeol-tflock`, as envs/bootstrap names it)"
  type        = string
  default     = null
}

variable "state_kms_alias" {
  description = "Alias of the key encrypting the state (default `alias/<prefix>kyeol-tfstate`, as envs/bootstrap names it)"
  type        = string
  default     = null
}

variable "kyeol_state_prefix" {
  description = "Key prefix of kyeol's own checkpoint in the state bucket (`--state s3://<bucket>/kyeol/state.json`)"
  type        = string
  default     = "kyeol/"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*/$", var.kyeol_state_prefix))
    error_message = "kyeol_state_prefix must be a folder name ending in `/`, e.g. `kyeol/`."
  }
}
