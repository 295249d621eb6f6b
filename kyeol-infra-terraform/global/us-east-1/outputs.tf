################################################################################
# CloudFront certificate
################################################################################

output "cloudfront_certificate_arn" {
  description = "ARN of the us-east-1 certificate (apex + wildcard) the distributions use"
  value       = module.cloudfront_certificate.certificate_arn
}

output "hosted_zone_id" {
  description = "ID of the public hosted zone"
  value       = module.cloudfront_certificate.hosted_zone_id
}

################################################################################
# WAF
################################################################################

output "waf_web_acl_arn" {
  description = "ARN of the CLOUDFRONT-scope web ACL (`web_acl_id` of every distribution)"
  value       = aws_wafv2_web_acl.this.arn
}
