terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.69.1"
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
