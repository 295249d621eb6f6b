# What envs/prod alone declares; the shared inputs are in variables.tf (-> ../dev/variables.tf).

variable "environment" {
  description = "Environment of this root (`prod`); the state key and every name follow it"
  type        = string
  default     = "prod"

  validation {
    condition     = var.environment == "prod"
    error_message = "This root is envs/prod: environment must be `prod`."
  }
}

################################################################################
# PG NAT (prod only, runbook §2.2)
################################################################################

# Part of the node_*_size totals: the main node group gets node_*_size - pg_node_*_size.

variable "pg_node_min_size" {
  description = "Minimum nodes of the tainted PG egress node group (counted in node_min_size)"
  type        = number
  default     = 1

  validation {
    condition     = var.pg_node_min_size >= 1 && var.node_min_size - var.pg_node_min_size >= 2
    error_message = "pg_node_min_size must be at least 1 and leave the main node group at least 2 of node_min_size."
  }
}

variable "pg_node_max_size" {
  description = "Maximum nodes of the PG egress node group (counted in node_max_size)"
  type        = number
  default     = 1

  validation {
    condition     = var.pg_node_max_size >= var.pg_node_min_size && var.node_max_size - var.pg_node_max_size >= var.node_min_size - var.pg_node_min_size
    error_message = "pg_node_max_size must be at least pg_node_min_size, and node_max_size - pg_node_max_size (the main group's maximum) at least node_min_size - pg_node_min_size (its minimum)."
  }
}

variable "pg_node_desired_size" {
  description = "Desired nodes of the PG egress node group (counted in node_desired_size)"
  type        = number
  default     = 1

  validation {
    condition = (
      var.pg_node_desired_size >= var.pg_node_min_size && var.pg_node_desired_size <= var.pg_node_max_size &&
      var.node_desired_size - var.pg_node_desired_size >= var.node_min_size - var.pg_node_min_size &&
      var.node_desired_size - var.pg_node_desired_size <= var.node_max_size - var.pg_node_max_size
    )
    error_message = "pg_node_desired_size must be between pg_node_min_size and pg_node_max_size, and node_desired_size - pg_node_desired_size (the main group's desired size) between the main group's minimum and maximum."
  }
}
