################################################################################
# Cluster
################################################################################

variable "name" {
  description = "Name of the EKS cluster (e.g. `jung-dev-eks`)"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-[a-z0-9-]+-eks$", var.name))
    error_message = "The cluster name must look like `<prefix><env>-eks` (a lowercase name prefix ending in `-`, e.g. `jung-dev-eks`)."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes `<major>.<minor>` version of the control plane and nodes"
  type        = string
  default     = "1.34"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like `1.34`."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the control plane ENIs and the default node group"
  type        = list(string)
}

variable "endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public API endpoint (MGMT NAT EIPs for Argo CD, operator networks); the private endpoint is always on"
  type        = list(string)

  validation {
    condition     = length(var.endpoint_public_access_cidrs) > 0 && alltrue([for c in var.endpoint_public_access_cidrs : can(cidrnetmask(c)) && c != "0.0.0.0/0"])
    error_message = "Give at least one IPv4 CIDR block; 0.0.0.0/0 is not allowed."
  }
}

variable "kms_key_arn" {
  description = "KMS key for Kubernetes secrets envelope encryption and the control-plane log group"
  type        = string
}

variable "cluster_log_retention_in_days" {
  description = "Days to keep control-plane logs (at least one year) (ISMS-P: access records 2 years, 731 days by default)"
  type        = number
  default     = 731

  validation {
    condition     = var.cluster_log_retention_in_days >= 365
    error_message = "cluster_log_retention_in_days must be at least 365."
  }
}

################################################################################
# Access Entries
################################################################################

variable "access_entries" {
  description = "IAM principals given an access entry and a cluster-scoped access policy (default `AmazonEKSClusterAdminPolicy`)"
  type = map(object({
    principal_arn = string
    policy_arn    = optional(string, "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")
  }))
  default = {}
}

################################################################################
# Node Group
################################################################################

variable "node_instance_type" {
  description = "EC2 instance type of the default managed node group (runbook §3: `t3.medium`)"
  type        = string
  default     = "t3.medium"
}

variable "node_min_size" {
  description = "Minimum number of nodes"
  type        = number
}

variable "node_max_size" {
  description = "Maximum number of nodes"
  type        = number
}

variable "node_desired_size" {
  description = "Desired number of nodes (between min and max)"
  type        = number

  validation {
    condition     = var.node_min_size >= 1 && var.node_min_size <= var.node_desired_size && var.node_desired_size <= var.node_max_size
    error_message = "Need 1 <= node_min_size <= node_desired_size <= node_max_size."
  }
}

variable "node_disk_size" {
  description = "Root volume size of each node in GiB (gp3, encrypted)"
  type        = number
  default     = 50
}

################################################################################
# Add-ons
################################################################################

variable "addon_versions" {
  description = "Pinned versions of the managed add-ons (`vpc-cni`, `kube-proxy`, `coredns`); a missing key uses the default version for the cluster's Kubernetes version"
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
