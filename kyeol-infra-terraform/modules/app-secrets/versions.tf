terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.69.1, < 7.0"
    }
    # The ephemeral tls_private_key (tls >= 4.1.0) makes the JWT signing key without state.
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.1.0, < 5.0"
    }
  }
}
