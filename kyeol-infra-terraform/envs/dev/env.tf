# What envs/dev alone declares; the shared inputs are in variables.tf (-> ../dev/variables.tf).

variable "environment" {
  description = "Environment of this root (`dev`); the state key and every name follow it"
  type        = string
  default     = "dev"

  validation {
    condition     = var.environment == "dev"
    error_message = "This root is envs/dev: environment must be `dev`."
  }
}
