# Saleor's media (product images, thumbnails): the api and worker run several replicas with
# read-only root filesystems, so uploads go to one private bucket through IRSA
# (modules/irsa, `<prefix><env>-saleor`) and viewers read them through the env's API
# distribution (modules/edge, `/media/*`, origin access control). Saleor writes every key under
# `<key_prefix>/` (AWS_LOCATION), so the URL path `/media/<key>` is the object key.

data "aws_caller_identity" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  bucket      = "${var.name}-saleor-media-${local.account_id}"
  logs_bucket = "${var.name}-saleor-media-logs-${local.account_id}"
}

################################################################################
# Media bucket
################################################################################

resource "aws_s3_bucket" "media" {
  #checkov:skip=CKV_AWS_144:Media is versioned in one region; product images can be uploaded again, so cross-region replication is not worth a second bucket.
  #checkov:skip=CKV2_AWS_62:Nothing consumes upload events (thumbnails are made by the Celery worker).
  #checkov:skip=CKV_AWS_145:SSE-S3 on purpose: the objects are public through CloudFront, and SSE-KMS would need the env key's policy to name the distribution, which itself depends on that key (origin-verify secret): a cycle, and a KMS call per cache miss.
  bucket        = local.bucket
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = "${var.name}-saleor-media" })
}

resource "aws_s3_bucket_versioning" "media" {
  bucket = aws_s3_bucket.media.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "media" {
  bucket                  = aws_s3_bucket.media.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs disabled: Saleor sends none (AWS_DEFAULT_ACL unset) and the bucket owner owns every object.
resource "aws_s3_bucket_ownership_controls" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    id     = "expire-replaced-media"
    status = "Enabled"

    filter {}

    # A deleted or replaced image can be restored for this long.
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.media]
}

resource "aws_s3_bucket_logging" "media" {
  bucket        = aws_s3_bucket.media.id
  target_bucket = module.logs.id
  target_prefix = module.logs.key_prefix
}

# Only the env's own distribution reads, only keys under the prefix, and nothing without TLS.
data "aws_iam_policy_document" "media" {
  statement {
    sid       = "CloudFrontReadsMedia"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.media.arn}/${var.key_prefix}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [var.cloudfront_distribution_arn]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.media.arn,
      "${aws_s3_bucket.media.arn}/*",
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

resource "aws_s3_bucket_policy" "media" {
  bucket = aws_s3_bucket.media.id
  policy = data.aws_iam_policy_document.media.json

  depends_on = [aws_s3_bucket_public_access_block.media]
}

################################################################################
# Access log bucket
################################################################################

module "logs" {
  source = "../access-logs"

  bucket             = local.logs_bucket
  source_bucket_arns = [aws_s3_bucket.media.arn]
  source_account_id  = local.account_id
  retention_days     = var.access_log_retention_days
  force_destroy      = var.force_destroy
  tags               = var.tags
}
