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

data "aws_caller_identity" "current" {}

locals {
  account_id   = data.aws_caller_identity.current.account_id
  state_bucket = "${var.name_prefix}kyeol-tfstate-${local.account_id}"
  logs_bucket  = "${var.name_prefix}kyeol-tfstate-logs-${local.account_id}"
  lock_table   = coalesce(var.lock_table, "${var.name_prefix}kyeol-tflock")
}

################################################################################
# KMS key (state bucket, lock table)
################################################################################

module "kms" {
  source = "../../modules/kms"

  name                   = "${var.name_prefix}kyeol-tfstate"
  description            = "Terraform state of kyeol (bucket ${local.state_bucket}, table ${local.lock_table})"
  enable_cloudwatch_logs = false
}

################################################################################
# State bucket
################################################################################

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_144:State is versioned in one region; cross-region replication would double a small, rebuildable store's blast radius for no recovery need.
  #checkov:skip=CKV2_AWS_62:Nothing consumes state-write events.
  bucket = local.state_bucket

  lifecycle {
    prevent_destroy = true

    # kyeol derives the name from kyeol.toml's MGMT account: applying with another account's
    # credentials would put every environment's state in the wrong place.
    precondition {
      condition     = var.state_bucket == null || var.state_bucket == local.state_bucket
      error_message = "kyeol expects state bucket ${coalesce(var.state_bucket, "-")}, but these credentials are account ${local.account_id}: use the MGMT account's credentials or fix envs.mgmt.account_id in kyeol.toml."
    }
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.kms.key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-old-state-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

resource "aws_s3_bucket_logging" "state" {
  bucket        = aws_s3_bucket.state.id
  target_bucket = module.logs.id
  target_prefix = module.logs.key_prefix
}

data "aws_iam_policy_document" "state" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
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

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state.json

  depends_on = [aws_s3_bucket_public_access_block.state]
}

################################################################################
# Access log bucket
################################################################################

module "logs" {
  source = "../../modules/access-logs"

  bucket             = local.logs_bucket
  source_bucket_arns = [aws_s3_bucket.state.arn]
  source_account_id  = local.account_id
  retention_days     = var.access_log_retention_days
}

################################################################################
# Lock table
################################################################################

# Terraform >= 1.11 locks with an S3 lock file (use_lockfile); kyeol passes both, and the
# table keeps older clients and kyeol's own shared-state lock working.
resource "aws_dynamodb_table" "lock" {
  #checkov:skip=CKV2_AWS_16:On-demand (PAY_PER_REQUEST) capacity scales by itself; auto scaling applies to provisioned tables only.
  name                        = local.lock_table
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "LockID"
  deletion_protection_enabled = true

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.kms.key_arn
  }

  lifecycle {
    prevent_destroy = true
  }
}
