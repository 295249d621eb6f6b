# Global (us-east-1): CloudFront certificate and WAF (runbook §2.2). No secrets here.
name_prefix = "jung-"
environment = "shared"
region      = "us-east-1"
domain      = "mgz-g2-u3.shop"
