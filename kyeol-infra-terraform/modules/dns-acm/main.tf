locals {
  domain_name = coalesce(var.certificate_domain_name, var.domain)
  sans        = var.subject_alternative_names != null ? var.subject_alternative_names : ["*.${var.domain}"]

  # `example.com` and `*.example.com` share one validation record: key the records by the name
  # without `*.` so each is written once (keys are known at plan time, unlike the records).
  validation_domains = toset([for d in concat([local.domain_name], local.sans) : trimprefix(d, "*.")])
  validation_records = {
    for d in local.validation_domains : d => [
      for o in aws_acm_certificate.this.domain_validation_options : o if trimprefix(o.domain_name, "*.") == d
    ][0]
  }
}

################################################################################
# Hosted Zone
################################################################################

data "aws_route53_zone" "this" {
  name         = var.domain
  private_zone = false
}

################################################################################
# Certificate
################################################################################

resource "aws_acm_certificate" "this" {
  region                    = var.region
  domain_name               = local.domain_name
  subject_alternative_names = local.sans
  validation_method         = "DNS"
  key_algorithm             = "RSA_2048"

  tags = merge(var.tags, { Name = local.domain_name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = local.validation_domains

  zone_id = data.aws_route53_zone.this.zone_id
  name    = local.validation_records[each.key].resource_record_name
  type    = local.validation_records[each.key].resource_record_type
  records = [local.validation_records[each.key].resource_record_value]
  ttl     = 60
  # ACM gives a name the same validation record for every certificate of the account, so
  # the roots certify disjoint names (global/us-east-1 the apex and wildcard, each env its
  # own origin names) and none adopts a record another root owns (no allow_overwrite):
  # destroying one root deletes only its own records.
}

resource "aws_acm_certificate_validation" "this" {
  region                  = var.region
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}
