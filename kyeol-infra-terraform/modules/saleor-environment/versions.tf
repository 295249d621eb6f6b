terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.69.1, < 7.0"
    }
    # app-secrets makes Saleor's RSA key with the ephemeral tls_private_key (never in state).
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.1.0, < 5.0"
    }
  }
}
