################################################################################
# VPC
################################################################################

variable "name" {
  description = "Name of the VPC and prefix of everything in it (e.g. `jung-dev`; the VPC is `<name>-vpc`)"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}-[a-z0-9-]+$", var.name))
    error_message = "The name must start with the name prefix (lowercase, ending in `-`, e.g. `jung-`) and use lowercase letters, digits and dashes."
  }
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC, a private /16 to /20"
  type        = string

  validation {
    condition     = can(cidrnetmask(var.cidr)) && can(regex("/(1[6-9]|20)$", var.cidr))
    error_message = "cidr must be an IPv4 CIDR block between /16 and /20."
  }
}

variable "azs" {
  description = "The three availability zones the subnets spread over"
  type        = list(string)

  validation {
    condition     = length(var.azs) == 3 && length(distinct(var.azs)) == 3
    error_message = "Exactly three distinct availability zones are required."
  }
}

################################################################################
# Subnets
################################################################################

variable "public_subnets" {
  description = "CIDR blocks of the public subnets (ALBs, NAT gateways), one per AZ in `azs` order"
  type        = list(string)

  validation {
    condition     = length(var.public_subnets) == 3 && alltrue([for c in var.public_subnets : can(cidrnetmask(c))])
    error_message = "Give three IPv4 CIDR blocks, one per AZ."
  }
}

variable "private_subnets" {
  description = "CIDR blocks of the private subnets (EKS nodes and pods), one per AZ in `azs` order"
  type        = list(string)

  validation {
    condition     = length(var.private_subnets) == 3 && alltrue([for c in var.private_subnets : can(cidrnetmask(c))])
    error_message = "Give three IPv4 CIDR blocks, one per AZ."
  }
}

variable "database_subnets" {
  description = "CIDR blocks of the database subnets (RDS, Valkey; no route to the internet), one per AZ in `azs` order"
  type        = list(string)

  validation {
    condition     = length(var.database_subnets) == 3 && alltrue([for c in var.database_subnets : can(cidrnetmask(c))])
    error_message = "Give three IPv4 CIDR blocks, one per AZ."
  }
}

variable "cluster_name" {
  description = "EKS cluster whose load balancers use these subnets (subnet tag `kubernetes.io/cluster/<name>`)"
  type        = string
}

################################################################################
# NAT Gateway
################################################################################

variable "single_nat_gateway" {
  description = "Use one NAT gateway for all AZs (cheaper, for dev) instead of one per AZ"
  type        = bool
  default     = false
}

################################################################################
# Flow Log
################################################################################

variable "flow_log_retention_in_days" {
  description = "Days to keep VPC flow logs in CloudWatch (at least one year) (ISMS-P: access records 2 years, 731 days by default)"
  type        = number
  default     = 731

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_in_days)
    error_message = "flow_log_retention_in_days must be a CloudWatch retention value of at least 365."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group (its policy must allow CloudWatch Logs)"
  type        = string
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
