terraform {
  required_version = ">= 1.11"

  # Local state on purpose: this root creates the bucket and table every other root's backend
  # uses. Keep envs/bootstrap/terraform.tfstate safe (it holds no secret), or import later.

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.69.1"
    }
  }
}
