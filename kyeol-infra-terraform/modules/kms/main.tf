data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  # The account's IAM decides who may use the key (the "key administrators and users" of the
  # console's default policy, spelled out: no `kms:*`). Services that encrypt on a caller's
  # behalf (EKS, RDS, ElastiCache, Secrets Manager, ECR, S3, DynamoDB) use grants made with the
  # caller's own IAM permissions, so they need no statement of their own.
  account_statement = {
    Sid       = "AccountIamManagesTheKey"
    Effect    = "Allow"
    Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
    Action = [
      "kms:CancelKeyDeletion",
      "kms:Create*",
      "kms:Decrypt",
      "kms:Delete*",
      "kms:Describe*",
      "kms:Disable*",
      "kms:Enable*",
      "kms:Encrypt",
      "kms:GenerateDataKey*",
      "kms:Get*",
      "kms:List*",
      "kms:Put*",
      "kms:ReEncrypt*",
      "kms:RetireGrant",
      "kms:RevokeGrant",
      "kms:RotateKeyOnDemand",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:Update*",
    ]
    Resource = "*"
  }

  # Ref https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
  cloudwatch_logs_statement = {
    Sid       = "CloudWatchLogsEncryptLogGroups"
    Effect    = "Allow"
    Principal = { Service = "logs.${local.region}.amazonaws.com" }
    Action = [
      "kms:Decrypt*",
      "kms:Describe*",
      "kms:Encrypt*",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
    ]
    Resource = "*"
    Condition = {
      ArnLike = {
        "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
      }
    }
  }

  # Ref https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html
  log_delivery_statement = {
    Sid       = "LogDeliveryWritesEncryptedObjects"
    Effect    = "Allow"
    Principal = { Service = "delivery.logs.amazonaws.com" }
    Action    = ["kms:GenerateDataKey*"]
    Resource  = "*"
  }

  statements = concat(
    [local.account_statement],
    var.enable_cloudwatch_logs ? [local.cloudwatch_logs_statement] : [],
    var.enable_log_delivery ? [local.log_delivery_statement] : [],
  )
}

################################################################################
# Key
################################################################################

resource "aws_kms_key" "this" {
  description             = var.description
  deletion_window_in_days = var.deletion_window_in_days
  enable_key_rotation     = true
  rotation_period_in_days = 365

  # In a key policy `Resource = "*"` means "this key"; principals are never `*`.
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.statements
  })

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
