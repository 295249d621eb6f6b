# Shared by envs/dev, envs/stage and envs/prod (their versions.tf is a symlink to this file).

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.69.1"
    }
    # Only for the ephemeral tls_private_key (Saleor's RSA_PRIVATE_KEY, never in state).
    tls = {
      source  = "hashicorp/tls"
      version = "4.4.1"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project     = "kyeol"
      environment = var.environment
      managed-by  = "terraform/kyeol"
    }
  }
}

# app-secrets makes Saleor's RSA key with the ephemeral tls_private_key.
provider "tls" {}
