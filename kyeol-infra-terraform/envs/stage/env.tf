# What envs/stage alone declares; the shared inputs are in variables.tf (-> ../dev/variables.tf).

variable "environment" {
  description = "Environment of this root (`stage`); the state key and every name follow it"
  type        = string
  default     = "stage"

  validation {
    condition     = var.environment == "stage"
    error_message = "This root is envs/stage: environment must be `stage`."
  }
}
