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

locals {
  web_acl_name = "${var.name_prefix}cloudfront-waf"
}

################################################################################
# CloudFront certificate (us-east-1: apex + wildcard)
################################################################################

module "cloudfront_certificate" {
  source = "../../modules/dns-acm"

  domain = var.domain
  region = "us-east-1"
}

################################################################################
# KMS key (WAF logs)
################################################################################

module "kms" {
  source = "../../modules/kms"

  name        = "${var.name_prefix}cloudfront-waf-logs"
  description = "WAF logs of ${local.web_acl_name} (us-east-1)"
}

################################################################################
# WAFv2 web ACL (scope CLOUDFRONT)
################################################################################

resource "aws_wafv2_web_acl" "this" {
  name        = local.web_acl_name
  description = "In front of every kyeol CloudFront distribution"
  scope       = "CLOUDFRONT"

  default_action {
    allow {}
  }

  # OWASP-style common rules. SizeRestrictions_BODY blocks bodies over 8 KB, which GraphQL
  # mutations and multipart image uploads to /graphql/ exceed: count it instead of blocking.
  rule {
    name     = "AWSManagedRulesCommonRuleSet"
    priority = 10

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesCommonRuleSet"
        vendor_name = "AWS"

        rule_action_override {
          name = "SizeRestrictions_BODY"

          action_to_use {
            count {}
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.web_acl_name}-common"
      sampled_requests_enabled   = true
    }
  }

  # Known exploit payloads (Log4Shell included).
  rule {
    name     = "AWSManagedRulesKnownBadInputsRuleSet"
    priority = 20

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
        vendor_name = "AWS"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.web_acl_name}-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  # SQL injection in query strings, bodies, cookies and URIs: Saleor's API is GraphQL over
  # PostgreSQL, and its bodies are what an attacker fills. Blocks; WCU 200 (the ACL: 1127).
  rule {
    name     = "AWSManagedRulesSQLiRuleSet"
    priority = 25

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesSQLiRuleSet"
        vendor_name = "AWS"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.web_acl_name}-sqli"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "AWSManagedRulesAmazonIpReputationList"
    priority = 30

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesAmazonIpReputationList"
        vendor_name = "AWS"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.web_acl_name}-ip-reputation"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "RateLimitPerIp"
    priority = 40

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit
        aggregate_key_type = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.web_acl_name}-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = local.web_acl_name
    sampled_requests_enabled   = true
  }
}

################################################################################
# WAF logging
################################################################################

# WAF only logs to destinations whose name starts with `aws-waf-logs-`.
resource "aws_cloudwatch_log_group" "waf" {
  name              = "aws-waf-logs-${local.web_acl_name}"
  retention_in_days = var.waf_log_retention_in_days
  kms_key_id        = module.kms.key_arn
}

data "aws_caller_identity" "current" {}

# Lets the log delivery service write WAF logs into the group (Ref: AWS WAF developer guide,
# "CloudWatch Logs log group permissions").
data "aws_iam_policy_document" "waf_logs" {
  statement {
    sid       = "WafLogDelivery"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.waf.arn}:*"]

    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:aws:logs:${var.region}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "waf" {
  policy_name     = "${local.web_acl_name}-logs"
  policy_document = data.aws_iam_policy_document.waf_logs.json
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  # Credentials never reach the logs.
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }

  redacted_fields {
    single_header {
      name = "cookie"
    }
  }

  depends_on = [aws_cloudwatch_log_resource_policy.waf]
}
