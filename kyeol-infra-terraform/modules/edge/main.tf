locals {
  origin_verify_header = "X-Origin-Verify"

  # One distribution per runbook §1 host. Both send the origin's own name as Host
  # (AllViewerExceptHostHeader), which is what the ALB certificate, the Ingress rules and
  # Saleor's ALLOWED_HOSTS expect.
  distributions = {
    service = {
      alias  = var.service_host
      origin = var.origin_service_host
      # Storefront build output is content-hashed: cache it at the edge. The dashboard shares
      # the service host under /dashboard/ and is dynamic like the storefront pages.
      ordered = [
        { path = "/_next/static/*", cached = true, origin = "alb" },
        { path = "/dashboard/*", cached = false, origin = "alb" },
      ]
    }
    # Saleor media (AWS_MEDIA_CUSTOM_DOMAIN = the API host) comes from S3 under /media/*: the
    # API host is where Saleor serves media itself, and uploaded files never share an origin
    # with the dashboard (service host), whose staff token a crafted upload could otherwise read.
    api = {
      alias  = var.api_host
      origin = var.origin_api_host
      ordered = [
        { path = "/${var.media_key_prefix}/*", cached = true, origin = local.media_origin_id },
      ]
    }
  }

  media_distribution            = "api"
  media_origin_id               = "media"
  media_content_security_policy = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

  all_methods    = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
  cached_methods = ["GET", "HEAD"]

  # Viewer records: IPv4 and IPv6 aliases for each host.
  records = merge([
    for k, d in local.distributions : {
      for type in ["A", "AAAA"] : "${k}-${type}" => { distribution = k, name = d.alias, type = type }
    }
  ]...)
}

################################################################################
# Global facts (us-east-1, made by global/us-east-1)
################################################################################

data "aws_caller_identity" "current" {}

data "aws_acm_certificate" "cloudfront" {
  region      = "us-east-1"
  domain      = var.domain
  statuses    = ["ISSUED"]
  types       = ["AMAZON_ISSUED"]
  most_recent = true
}

data "aws_wafv2_web_acl" "cloudfront" {
  region = "us-east-1"
  name   = var.web_acl_name
  scope  = "CLOUDFRONT"
}

data "aws_cloudfront_cache_policy" "caching_disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_cache_policy" "caching_optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  name = "Managed-AllViewerExceptHostHeader"
}

################################################################################
# Origin verification header
################################################################################

# The value CloudFront adds to every origin request and the ALB requires, so the WAF cannot be
# bypassed by calling the ALB directly. It is generated ephemerally and written to Secrets
# Manager write-only (the secret resource stores nothing). CloudFront's `custom_header.value` is
# a plain argument (no write-only variant, ephemeral values rejected), so the value must pass
# through the state once: it is read back from the secret, which keeps Secrets Manager the one
# source of truth (External Secrets gives the same value to the ALB side). The state bucket is
# KMS-encrypted and private; the value is also visible to anyone allowed
# cloudfront:GetDistributionConfig, which is inherent to CloudFront custom headers.
ephemeral "aws_secretsmanager_random_password" "origin_verify" {
  password_length     = 48
  exclude_punctuation = true
  include_space       = false
}

resource "aws_secretsmanager_secret" "origin_verify" {
  #checkov:skip=CKV2_AWS_57:Rotation needs the ALB rule and CloudFront updated in order; it is done by bumping origin_verify_version, not a rotation Lambda.
  name                    = "${var.name}-origin-verify"
  description             = "Value of the ${local.origin_verify_header} header CloudFront sends to the ${var.name} ALB"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "origin_verify" {
  secret_id = aws_secretsmanager_secret.origin_verify.id
  secret_string_wo = jsonencode({
    header = local.origin_verify_header
    value  = ephemeral.aws_secretsmanager_random_password.origin_verify.random_password
  })
  secret_string_wo_version = var.origin_verify_version
}

data "aws_secretsmanager_secret_version" "origin_verify" {
  secret_id  = aws_secretsmanager_secret.origin_verify.id
  version_id = aws_secretsmanager_secret_version.origin_verify.version_id
}

################################################################################
# Media origin (S3, origin access control)
################################################################################

# CloudFront signs its requests to the media bucket (SigV4); the bucket policy admits only the
# API distribution's ARN, so the bucket stays private and no other distribution can read it.
resource "aws_cloudfront_origin_access_control" "media" {
  name                              = "${var.name}-saleor-media"
  description                       = "${var.name}: CloudFront reads Saleor media from S3"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

################################################################################
# Response headers (HSTS)
################################################################################

resource "aws_cloudfront_response_headers_policy" "security" {
  name    = "${var.name}-security-headers"
  comment = "HSTS and browser hardening headers for ${var.name}"

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = var.hsts_max_age_seconds
      include_subdomains         = true
      # Every name under the zone is HTTPS-only (CloudFront redirect, ALB 443 only). The
      # directive only makes the domain eligible; listing needs a submission by its owner.
      preload  = true
      override = true
    }

    content_type_options {
      override = true
    }

    frame_options {
      frame_option = "SAMEORIGIN"
      override     = true
    }

    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }

    xss_protection {
      protection = true
      mode_block = true
      override   = true
    }
  }
}

# The same headers for uploaded media, plus a CSP that sandboxes a file opened directly (an SVG
# or HTML upload runs no script and gets an opaque origin); <img> ignores it.
resource "aws_cloudfront_response_headers_policy" "media" {
  name    = "${var.name}-media-headers"
  comment = "HSTS, hardening headers and a sandboxing CSP for Saleor media of ${var.name}"

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = var.hsts_max_age_seconds
      include_subdomains         = true
      preload                    = true
      override                   = true
    }

    content_security_policy {
      content_security_policy = local.media_content_security_policy
      override                = true
    }

    content_type_options {
      override = true
    }

    frame_options {
      frame_option = "SAMEORIGIN"
      override     = true
    }

    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }

    xss_protection {
      protection = true
      mode_block = true
      override   = true
    }
  }
}

################################################################################
# Distributions
################################################################################

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_305:Dynamic origins (Next.js storefront, GraphQL API) answer "/" themselves; a default root object would rewrite it.
  #checkov:skip=CKV_AWS_310:A single ALB origin per environment (the API host adds the media bucket for /media/* only); the ALB spreads over three AZs, there is no second copy to fail over to.
  #checkov:skip=CKV_AWS_374:The shop sells to any country; no geo restriction is wanted.
  #checkov:skip=CKV2_AWS_47:The web ACL is made in global/us-east-1 and found here by data source, so its rules are not visible; it includes AWSManagedRulesKnownBadInputsRuleSet (Log4j).
  for_each = local.distributions

  enabled         = true
  comment         = "${var.name} ${each.key}: ${each.value.alias} -> ${each.value.origin}"
  aliases         = [each.value.alias]
  is_ipv6_enabled = true
  http_version    = "http2and3"
  price_class     = var.price_class
  web_acl_id      = data.aws_wafv2_web_acl.cloudfront.arn

  origin {
    origin_id   = "alb"
    domain_name = each.value.origin

    custom_origin_config {
      http_port                = 80
      https_port               = 443
      origin_protocol_policy   = "https-only"
      origin_ssl_protocols     = ["TLSv1.2"]
      origin_read_timeout      = 60
      origin_keepalive_timeout = 5
    }

    custom_header {
      name  = local.origin_verify_header
      value = jsondecode(data.aws_secretsmanager_secret_version.origin_verify.secret_string).value
    }
  }

  dynamic "origin" {
    for_each = each.key == local.media_distribution ? [var.media_bucket_regional_domain_name] : []

    content {
      origin_id                = local.media_origin_id
      domain_name              = origin.value
      origin_access_control_id = aws_cloudfront_origin_access_control.media.id
    }
  }

  default_cache_behavior {
    target_origin_id           = "alb"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = local.all_methods
    cached_methods             = local.cached_methods
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_disabled.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  dynamic "ordered_cache_behavior" {
    for_each = each.value.ordered

    content {
      path_pattern               = ordered_cache_behavior.value.path
      target_origin_id           = ordered_cache_behavior.value.origin
      viewer_protocol_policy     = "redirect-to-https"
      allowed_methods            = ordered_cache_behavior.value.cached ? ["GET", "HEAD", "OPTIONS"] : local.all_methods
      cached_methods             = local.cached_methods
      compress                   = true
      cache_policy_id            = ordered_cache_behavior.value.cached ? data.aws_cloudfront_cache_policy.caching_optimized.id : data.aws_cloudfront_cache_policy.caching_disabled.id
      origin_request_policy_id   = ordered_cache_behavior.value.cached ? null : data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
      response_headers_policy_id = ordered_cache_behavior.value.origin == local.media_origin_id ? aws_cloudfront_response_headers_policy.media.id : aws_cloudfront_response_headers_policy.security.id
    }
  }

  viewer_certificate {
    acm_certificate_arn      = data.aws_acm_certificate.cloudfront.arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  logging_config {
    bucket          = aws_s3_bucket.logs.bucket_domain_name
    prefix          = "${each.key}/"
    include_cookies = false
  }

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })

  depends_on = [aws_s3_bucket_ownership_controls.logs]
}

################################################################################
# Viewer records (Terraform owns these; ExternalDNS owns only the origin names)
################################################################################

resource "aws_route53_record" "this" {
  for_each = local.records

  zone_id = var.hosted_zone_id
  name    = each.value.name
  type    = each.value.type

  alias {
    name                   = aws_cloudfront_distribution.this[each.value.distribution].domain_name
    zone_id                = aws_cloudfront_distribution.this[each.value.distribution].hosted_zone_id
    evaluate_target_health = false
  }
}
