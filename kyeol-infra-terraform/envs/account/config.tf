################################################################################
# AWS Config: every supported resource recorded (global ones too), snapshots to the audit
# bucket under config/, and the managed rules an auditor asks about: encryption, public
# access, logging. A region has one recorder per account: when another exists, kyeol passes
# create_config_recorder = false and the rules evaluate with that recorder.
################################################################################

locals {
  config_name = "${var.name_prefix}kyeol"

  # Ref https://docs.aws.amazon.com/config/latest/developerguide/managed-rules-by-aws-config.html
  config_rules = {
    # Encryption
    "cloudtrail-encryption-enabled"            = "CLOUD_TRAIL_ENCRYPTION_ENABLED"
    "encrypted-volumes"                        = "ENCRYPTED_VOLUMES"
    "ec2-ebs-encryption-by-default"            = "EC2_EBS_ENCRYPTION_BY_DEFAULT"
    "rds-storage-encrypted"                    = "RDS_STORAGE_ENCRYPTED"
    "s3-bucket-server-side-encryption-enabled" = "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED"
    "s3-bucket-ssl-requests-only"              = "S3_BUCKET_SSL_REQUESTS_ONLY"
    "eks-secrets-encrypted"                    = "EKS_SECRETS_ENCRYPTED"
    # Public access
    "s3-account-level-public-access-blocks" = "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC"
    "s3-bucket-public-read-prohibited"      = "S3_BUCKET_PUBLIC_READ_PROHIBITED"
    "s3-bucket-public-write-prohibited"     = "S3_BUCKET_PUBLIC_WRITE_PROHIBITED"
    "rds-instance-public-access-check"      = "RDS_INSTANCE_PUBLIC_ACCESS_CHECK"
    # Logging and detection
    "cloudtrail-enabled"                      = "CLOUD_TRAIL_ENABLED"
    "cloud-trail-log-file-validation-enabled" = "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED"
    "multi-region-cloudtrail-enabled"         = "MULTI_REGION_CLOUD_TRAIL_ENABLED"
    "s3-bucket-logging-enabled"               = "S3_BUCKET_LOGGING_ENABLED"
    "elb-logging-enabled"                     = "ELB_LOGGING_ENABLED"
    "vpc-flow-logs-enabled"                   = "VPC_FLOW_LOGS_ENABLED"
    "rds-logging-enabled"                     = "RDS_LOGGING_ENABLED"
    "guardduty-enabled-centralized"           = "GUARDDUTY_ENABLED_CENTRALIZED"
  }
}

data "aws_iam_policy_document" "config_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "config" {
  count = var.create_config_recorder ? 1 : 0

  name               = "${var.name_prefix}kyeol-config"
  description        = "AWS Config recorder of the account: reads configurations, delivers snapshots to the audit bucket"
  assume_role_policy = data.aws_iam_policy_document.config_assume.json
}

resource "aws_iam_role_policy_attachment" "config" {
  count = var.create_config_recorder ? 1 : 0

  role       = aws_iam_role.config[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWS_ConfigRole"
}

data "aws_iam_policy_document" "config_delivery" {
  statement {
    sid       = "DeliverSnapshots"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.audit.arn}/config/AWSLogs/${local.account_id}/Config/*"]
  }

  statement {
    sid       = "CheckBucket"
    actions   = ["s3:GetBucketAcl", "s3:ListBucket"]
    resources = [aws_s3_bucket.audit.arn]
  }

  statement {
    sid       = "EncryptSnapshots"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.audit.arn]
  }
}

resource "aws_iam_role_policy" "config" {
  count = var.create_config_recorder ? 1 : 0

  name   = "deliver-to-audit-bucket"
  role   = aws_iam_role.config[0].id
  policy = data.aws_iam_policy_document.config_delivery.json
}

resource "aws_config_configuration_recorder" "this" {
  count = var.create_config_recorder ? 1 : 0

  name     = local.config_name
  role_arn = aws_iam_role.config[0].arn

  recording_group {
    all_supported                 = true
    include_global_resource_types = true
  }
}

resource "aws_config_delivery_channel" "this" {
  count = var.create_config_recorder ? 1 : 0

  name           = local.config_name
  s3_bucket_name = aws_s3_bucket.audit.id
  s3_key_prefix  = "config"
  s3_kms_key_arn = aws_kms_key.audit.arn

  snapshot_delivery_properties {
    delivery_frequency = "TwentyFour_Hours"
  }

  depends_on = [aws_config_configuration_recorder.this, aws_s3_bucket_policy.audit, aws_iam_role_policy.config]
}

resource "aws_config_configuration_recorder_status" "this" {
  count = var.create_config_recorder ? 1 : 0

  name       = aws_config_configuration_recorder.this[0].name
  is_enabled = true

  depends_on = [aws_config_delivery_channel.this]
}

resource "aws_config_config_rule" "managed" {
  for_each = local.config_rules

  name = "${var.name_prefix}${each.key}"

  source {
    owner             = "AWS"
    source_identifier = each.value
  }

  depends_on = [aws_config_configuration_recorder.this]
}
