################################################################################
# Distributions
################################################################################

output "distribution_ids" {
  description = "Map `service`/`api` to CloudFront distribution ID"
  value       = { for k, d in aws_cloudfront_distribution.this : k => d.id }
}

output "distribution_domain_names" {
  description = "Map `service`/`api` to the distribution's `*.cloudfront.net` name"
  value       = { for k, d in aws_cloudfront_distribution.this : k => d.domain_name }
}

output "media_distribution_arn" {
  description = "ARN of the distribution serving `/<media_key_prefix>/*` (the API host's), the only reader of the media bucket"
  value       = aws_cloudfront_distribution.this[local.media_distribution].arn
}

output "media_host" {
  description = "Public host whose `/<media_key_prefix>/*` is the media bucket (Saleor's AWS_MEDIA_CUSTOM_DOMAIN)"
  value       = local.distributions[local.media_distribution].alias
}

output "viewer_hosts" {
  description = "Map `service`/`api` to the public host name (runbook §1)"
  value       = { for k, d in local.distributions : k => d.alias }
}

################################################################################
# Origin verification header
################################################################################

output "origin_verify_secret_arn" {
  description = "ARN of `<name>-origin-verify` (JSON `header`, `value`)"
  value       = aws_secretsmanager_secret.origin_verify.arn
}

output "origin_verify_header_name" {
  description = "Name of the header the ALB must require"
  value       = local.origin_verify_header
}

################################################################################
# Access logs
################################################################################

output "logs_bucket" {
  description = "S3 bucket receiving the CloudFront access logs"
  value       = aws_s3_bucket.logs.id
}
