################################################################################
# Common
################################################################################

variable "name_prefix" {
  description = "Prefix of every name (kyeol.toml `project.prefix`, e.g. `jung-`)"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-$", var.name_prefix))
    error_message = "name_prefix must be a lowercase letter, 1-10 lowercase letters or digits, then `-` (e.g. `jung-`)."
  }
}

variable "environment" {
  description = "Environment the roles belong to: `mgmt`, `dev`, `stage` or `prod`"
  type        = string

  validation {
    condition     = contains(["mgmt", "dev", "stage", "prod"], var.environment)
    error_message = "environment must be one of mgmt, dev, stage, prod."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider (trusted by the service-account roles); null when only the deployer role is made"
  type        = string
  default     = null
}

variable "oidc_provider" {
  description = "Cluster OIDC issuer without `https://` (prefix of the `:sub`/`:aud` condition keys)"
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every role"
  type        = map(string)
  default     = {}
}

################################################################################
# AWS Load Balancer Controller
################################################################################

variable "create_lbc_role" {
  description = "Create `<prefix><env>-lbc` for kube-system/aws-load-balancer-controller"
  type        = bool
  default     = false
}

################################################################################
# ExternalDNS
################################################################################

variable "create_external_dns_role" {
  description = "Create `<prefix><env>-external-dns` for external-dns/external-dns"
  type        = bool
  default     = false
}

variable "external_dns_hosted_zone_id" {
  description = "The one hosted zone ExternalDNS may change records in"
  type        = string
  default     = null
}

variable "external_dns_record_names" {
  description = "The only names ExternalDNS may change (this env's origin-* names, lowercase, no trailing dot); their TXT registry names are derived"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.external_dns_record_names : can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", n))])
    error_message = "external_dns_record_names must be lowercase DNS names without a trailing dot (Route 53's normalized form)."
  }
}

################################################################################
# External Secrets
################################################################################

variable "create_external_secrets_role" {
  description = "Create `<prefix><env>-external-secrets` for external-secrets/external-secrets (reads `<prefix><env>-*` secrets)"
  type        = bool
  default     = false
}

variable "external_secrets_extra_secret_arns" {
  description = "Secrets outside the `<prefix><env>-*` names External Secrets may also read (the RDS-managed master secret)"
  type        = list(string)
  default     = []
}

variable "external_secrets_kms_key_arn" {
  description = "KMS key the readable secrets are encrypted with"
  type        = string
  default     = null
}

################################################################################
# Saleor (media storage)
################################################################################

variable "create_cluster_autoscaler_role" {
  description = "Create `<prefix><env>-cluster-autoscaler` for kube-system/cluster-autoscaler (desired size of this cluster's node groups)"
  type        = bool
  default     = false
}

variable "cluster_autoscaler_cluster_name" {
  description = "EKS cluster whose node groups (ASGs tagged `k8s.io/cluster-autoscaler/<name>=owned`) the autoscaler may scale"
  type        = string
  default     = null

  validation {
    condition     = var.cluster_autoscaler_cluster_name == null || can(regex("^[a-z][a-z0-9]{1,10}-(dev|stage|prod)-eks$", var.cluster_autoscaler_cluster_name))
    error_message = "cluster_autoscaler_cluster_name must be `<prefix><env>-eks` (e.g. jung-dev-eks)."
  }
}

variable "create_saleor_role" {
  description = "Create `<prefix><env>-saleor` for saleor/saleor-api and saleor/saleor-worker (media and private objects under `saleor_media_key_prefix/` only)"
  type        = bool
  default     = false
}

variable "saleor_media_bucket_arn" {
  description = "ARN of the media bucket Saleor reads and writes"
  type        = string
  default     = null

  validation {
    condition     = var.saleor_media_bucket_arn == null || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.saleor_media_bucket_arn))
    error_message = "saleor_media_bucket_arn must be an S3 bucket ARN (arn:aws:s3:::<bucket>), without a key."
  }
}

variable "saleor_private_bucket_arn" {
  description = "ARN of the private bucket (webhook payloads) Saleor reads and writes"
  type        = string
  default     = null

  validation {
    condition     = var.saleor_private_bucket_arn == null || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.saleor_private_bucket_arn))
    error_message = "saleor_private_bucket_arn must be an S3 bucket ARN (arn:aws:s3:::<bucket>), without a key."
  }
}

variable "saleor_private_kms_key_arn" {
  description = "KMS key of the private bucket's objects (usable by the role through S3 only)"
  type        = string
  default     = null
}

variable "saleor_media_key_prefix" {
  description = "Folder of the media bucket Saleor writes under (its AWS_LOCATION); the role reaches nothing outside it"
  type        = string
  default     = "media"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*$", var.saleor_media_key_prefix))
    error_message = "saleor_media_key_prefix must be one path segment of lowercase letters, digits and dashes (e.g. `media`)."
  }
}

################################################################################
# Argo CD
################################################################################

variable "create_argocd_manager_role" {
  description = "Create `<prefix>mgmt-argocd-manager` (MGMT only) for the Argo CD controller, applicationset controller and server"
  type        = bool
  default     = false
}

variable "create_argocd_deployer_role" {
  description = "Create `<prefix><env>-argocd-deployer`, assumable by the MGMT manager role; give it an EKS access entry on this env's cluster"
  type        = bool
  default     = false
}

variable "argocd_target_accounts" {
  description = "Environments Argo CD deploys to and their AWS accounts ({dev = \"123456789012\", ...}): the manager role may assume `<prefix><env>-argocd-deployer` in exactly these"
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for a in values(var.argocd_target_accounts) : can(regex("^[0-9]{12}$", a))])
    error_message = "argocd_target_accounts values must be 12-digit AWS account ids."
  }
}

variable "argocd_manager_account_id" {
  description = "AWS account of MGMT (where `<prefix>mgmt-argocd-manager` lives)"
  type        = string
  default     = null

  validation {
    condition     = var.argocd_manager_account_id == null || can(regex("^[0-9]{12}$", var.argocd_manager_account_id))
    error_message = "argocd_manager_account_id must be a 12-digit AWS account id."
  }
}
