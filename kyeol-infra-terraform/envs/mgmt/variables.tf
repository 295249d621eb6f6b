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
  description = "Environment of this root (`mgmt`: Argo CD and ECR)"
  type        = string
  default     = "mgmt"

  validation {
    condition     = var.environment == "mgmt"
    error_message = "This root is the MGMT environment: environment must be `mgmt`."
  }
}

variable "region" {
  description = "AWS region (runbook: ap-northeast-1)"
  type        = string
  default     = "ap-northeast-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as ap-northeast-1."
  }
}

################################################################################
# VPC
################################################################################

variable "azs" {
  description = "The three availability zones of the VPC (ap-northeast-1b does not take new subnets)"
  type        = list(string)
  default     = ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]

  validation {
    condition     = length(distinct(var.azs)) == 3 && alltrue([for az in var.azs : startswith(az, var.region)])
    error_message = "Give three distinct availability zones of the region."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC, a private /16 to /20 (kyeol.toml `envs.mgmt.cidr`)"
  type        = string

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && can(regex("/(1[6-9]|20)$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block between /16 and /20."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the whole VPC instead of one per AZ"
  type        = bool
  default     = false
}

################################################################################
# EKS
################################################################################

variable "kubernetes_version" {
  description = "Kubernetes `<major>.<minor>` of the cluster"
  type        = string
  default     = "1.34"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like `1.34`."
  }
}

variable "node_instance_type" {
  description = "Instance type of the nodes (runbook §3: `t3.medium`)"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*\\.[a-z0-9]+$", var.node_instance_type))
    error_message = "node_instance_type must look like `t3.medium`."
  }
}

variable "node_min_size" {
  description = "Minimum nodes (runbook §3 MGMT: 2)"
  type        = number

  validation {
    condition     = var.node_min_size >= 1 && var.node_min_size <= 20
    error_message = "node_min_size must be between 1 and 20."
  }
}

variable "node_max_size" {
  description = "Maximum nodes (runbook §3 MGMT: 2)"
  type        = number

  validation {
    condition     = var.node_max_size >= var.node_min_size && var.node_max_size <= 20
    error_message = "node_max_size must be between node_min_size and 20."
  }
}

variable "node_desired_size" {
  description = "Desired nodes, between min and max"
  type        = number

  validation {
    condition     = var.node_desired_size >= var.node_min_size && var.node_desired_size <= var.node_max_size
    error_message = "node_desired_size must be between node_min_size and node_max_size."
  }
}

variable "operator_cidrs" {
  description = "Networks allowed to reach the cluster's public API endpoint (where kyeol/helm run)"
  type        = list(string)

  validation {
    condition     = length(var.operator_cidrs) > 0 && alltrue([for c in var.operator_cidrs : can(cidrnetmask(c)) && c != "0.0.0.0/0"])
    error_message = "Give at least one IPv4 CIDR block; 0.0.0.0/0 is not allowed."
  }

  validation {
    # The repository ships TEST-NET-3 here, so that nobody applies a guess: a real deploy must
    # say where its operators are, or the API endpoint refuses kyeol from phase 4 on.
    condition = alltrue([for c in var.operator_cidrs : !try(
      tonumber(split("/", c)[1]) >= 24 && contains(["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"], cidrsubnet("${cidrhost(c, 0)}/24", 0, 0)),
    false)])
    error_message = "operator_cidrs holds a documentation range (TEST-NET 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24), the placeholder this repository ships: set it in terraform.tfvars to the public addresses kyeol, helm and kubectl run from (office or VPN egress, CI runners)."
  }
}

variable "cluster_admin_principal_arns" {
  description = "Extra IAM principals given cluster-admin access entries (the identity of the first apply has it already)"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.cluster_admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", a))])
    error_message = "cluster_admin_principal_arns must be IAM role or user ARNs."
  }
}

################################################################################
# ECR
################################################################################

variable "images" {
  description = "Images with a repository `<prefix><image>` (steps/wiring/config.py IMAGES)"
  type        = list(string)
  default     = ["saleor-api", "saleor-dashboard", "saleor-storefront"]
}

variable "ecr_pull_account_ids" {
  description = "Accounts of dev/stage/prod whose node roles may pull (kyeol.toml `envs.<env>.account_id`)"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ecr_pull_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "ecr_pull_account_ids must be 12-digit AWS account ids."
  }
}

variable "argocd_target_accounts" {
  description = "Envs Argo CD deploys to => their AWS account (kyeol.toml `envs.<env>.account_id`): the manager role assumes only `<prefix><env>-argocd-deployer` in these"
  type        = map(string)

  validation {
    condition     = length(var.argocd_target_accounts) > 0 && alltrue([for env, a in var.argocd_target_accounts : contains(["dev", "stage", "prod"], env) && can(regex("^[0-9]{12}$", a))])
    error_message = "argocd_target_accounts maps dev/stage/prod to 12-digit AWS account ids."
  }
}

################################################################################
# GitHub OIDC
################################################################################

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider; false when the account already has one (one per URL per account)"
  type        = bool
  default     = true
}

variable "github_repository" {
  description = "`OWNER/REPO` whose main branch pushes images (kyeol.toml `project.github_repository`)"
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/REPO."
  }
}

variable "github_owner_id" {
  description = "Numeric GitHub id of the owner, for the immutable `sub` claim (optional)"
  type        = string
  default     = null
}

variable "github_repository_id" {
  description = "Numeric GitHub id of the repository, for the immutable `sub` claim (optional)"
  type        = string
  default     = null
}
