################################################################################
# Network
################################################################################

variable "name" {
  description = "Base name (`<prefix>prod`, e.g. `jung-prod`): NAT `<name>-pg-nat`, subnets `<name>-pg-<az>`"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-prod$", var.name))
    error_message = "name must be `<prefix>prod` (a lowercase name prefix ending in `-`, e.g. `jung-prod`): the dedicated PG NAT exists in PROD only (runbook §2.2)."
  }
}

variable "vpc_id" {
  description = "VPC of the prod cluster"
  type        = string
}

variable "public_subnet_id" {
  description = "Public subnet the dedicated NAT gateway sits in"
  type        = string
}

variable "internet_gateway_id" {
  description = "The VPC's internet gateway: the EIP and NAT gateway wait for it (`depends_on`; Gateway.NotAttached otherwise)"
  type        = string
}

variable "azs" {
  description = "Availability zones of the dedicated private subnets"
  type        = list(string)
}

variable "subnet_cidrs" {
  description = "CIDR blocks of the dedicated private subnets, one per AZ in `azs` order (inside the VPC, outside its other subnets)"
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.subnet_cidrs : can(cidrnetmask(c))])
    error_message = "subnet_cidrs must be IPv4 CIDR blocks."
  }
}

variable "cluster_name" {
  description = "EKS cluster the dedicated node group joins"
  type        = string
}

################################################################################
# Node Group
################################################################################

variable "node_role_arn" {
  description = "IAM role of the cluster's nodes"
  type        = string
}

variable "vpc_cni_addon_id" {
  description = "The cluster's vpc-cni add-on: the node group waits for it (`depends_on`), like the default group"
  type        = string
}

variable "launch_template_id" {
  description = "The cluster's node launch template (IMDSv2, encrypted root volume)"
  type        = string
}

variable "launch_template_version" {
  description = "Version of the launch template"
  type        = string
}

variable "node_instance_type" {
  description = "Instance type of the PG egress nodes"
  type        = string
  default     = "t3.medium"
}

variable "node_min_size" {
  description = "Minimum PG egress nodes"
  type        = number
  default     = 1
}

variable "node_max_size" {
  description = "Maximum PG egress nodes"
  type        = number
  default     = 1
}

variable "node_desired_size" {
  description = "Desired PG egress nodes"
  type        = number
  default     = 1

  validation {
    condition     = var.node_min_size >= 1 && var.node_min_size <= var.node_desired_size && var.node_desired_size <= var.node_max_size
    error_message = "Need 1 <= node_min_size <= node_desired_size <= node_max_size."
  }
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
