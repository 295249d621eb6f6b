################################################################################
# ALB access logs of one environment (ISMS-P access records)
#
# The AWS Load Balancer Controller turns the Saleor Ingress's
# `alb.ingress.kubernetes.io/load-balancer-attributes: access_logs.s3.enabled=true,
# access_logs.s3.bucket=<this bucket>,access_logs.s3.prefix=<key_prefix>` into the ALB's
# attributes (kyeol-app-gitops overlays). ELB writes with SSE-S3 only (not SSE-KMS).
################################################################################

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  bucket     = "${var.name}-alb-logs-${local.account_id}"

  # Regions opened before August 2022 deliver ALB logs from a regional ELB account, which the
  # bucket policy names (Elastic Load Balancing user guide, "Enable access logs for your
  # Application Load Balancer", step 2: bucket policy, "Regions available before August 2022").
  elb_log_accounts = {
    "ap-northeast-1" = "582318560864"
  }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:This bucket is itself an access-log sink (ALB logs); logging it would need a sink for the sink.
  #checkov:skip=CKV_AWS_144:Access logs stay in the home region; losing them with the region is accepted.
  #checkov:skip=CKV2_AWS_62:Nothing consumes log-arrival events.
  #checkov:skip=CKV_AWS_145:ALB access log delivery supports only SSE-S3 (AES256) on the target bucket, not SSE-KMS.
  bucket        = local.bucket
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = local.bucket })

  lifecycle {
    precondition {
      condition     = contains(keys(local.elb_log_accounts), local.region)
      error_message = "modules/alb-logs knows the ELB log delivery account of ${join(", ", keys(local.elb_log_accounts))} only; add ${local.region}'s from the Elastic Load Balancing user guide."
    }
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-alb-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ElbLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/${var.key_prefix}/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${lookup(local.elb_log_accounts, local.region, "000000000000")}:root"]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
