################################################################################
# Hosted Zone
################################################################################

output "hosted_zone_id" {
  description = "ID of the public hosted zone"
  value       = data.aws_route53_zone.this.zone_id
}

################################################################################
# Certificate
################################################################################

output "certificate_arn" {
  description = "ARN of the certificate, once validated (ISSUED)"
  value       = aws_acm_certificate_validation.this.certificate_arn
}

output "certificate_domains" {
  description = "Names the certificate covers"
  value       = concat([local.domain_name], local.sans)
}
