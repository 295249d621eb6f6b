# Saleor's private storage (saleor/settings.py 3.23.28: AWS_MEDIA_PRIVATE_BUCKET_NAME selects
# saleor.core.storages.S3MediaPrivateStorage; without it PRIVATE_FILE_STORAGE is the pod's
# local disk). It holds webhook payloads (EventPayload.payload_file, `<key_prefix>/payloads/`):
# written by the api, read and deleted by the worker, so it must be shared, and it is never
# public. No CloudFront, no reader in the bucket policy: only the env's Saleor role
# (modules/irsa, `<prefix><env>-saleor`) reaches it through IAM, and the objects are encrypted
# with the env's KMS key, which that role may use only through S3 for this bucket.

data "aws_caller_identity" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  bucket      = "${var.name}-saleor-private-${local.account_id}"
  logs_bucket = "${var.name}-saleor-private-logs-${local.account_id}"
}

################################################################################
# Private bucket
################################################################################

resource "aws_s3_bucket" "private" {
  #checkov:skip=CKV_AWS_144:Webhook payloads are transient (deleted once delivered); cross-region replication is not worth a second bucket.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object events; Saleor reads the payloads it wrote.
  bucket        = local.bucket
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = "${var.name}-saleor-private" })
}

resource "aws_s3_bucket_versioning" "private" {
  bucket = aws_s3_bucket.private.id

  versioning_configuration {
    status = "Enabled"
  }
}

# SSE-KMS with the env key; the bucket key keeps KMS calls (and cost) to one per bucket and
# object batch, and makes the encryption context the bucket ARN.
resource "aws_s3_bucket_server_side_encryption_configuration" "private" {
  bucket = aws_s3_bucket.private.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "private" {
  bucket                  = aws_s3_bucket.private.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs disabled: Saleor sends none (AWS_DEFAULT_ACL unset) and the bucket owner owns every object.
resource "aws_s3_bucket_ownership_controls" "private" {
  bucket = aws_s3_bucket.private.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "private" {
  bucket = aws_s3_bucket.private.id

  rule {
    id     = "expire-replaced-payloads"
    status = "Enabled"

    filter {}

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

  depends_on = [aws_s3_bucket_versioning.private]
}

resource "aws_s3_bucket_logging" "private" {
  bucket        = aws_s3_bucket.private.id
  target_bucket = module.logs.id
  target_prefix = module.logs.key_prefix
}

# No Allow at all (IAM grants the Saleor role); nothing without TLS.
data "aws_iam_policy_document" "private" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.private.arn,
      "${aws_s3_bucket.private.arn}/*",
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

resource "aws_s3_bucket_policy" "private" {
  bucket = aws_s3_bucket.private.id
  policy = data.aws_iam_policy_document.private.json

  depends_on = [aws_s3_bucket_public_access_block.private]
}

################################################################################
# Access log bucket
################################################################################

module "logs" {
  source = "../access-logs"

  bucket             = local.logs_bucket
  source_bucket_arns = [aws_s3_bucket.private.arn]
  source_account_id  = local.account_id
  retention_days     = var.access_log_retention_days
  force_destroy      = var.force_destroy
  tags               = var.tags
}
