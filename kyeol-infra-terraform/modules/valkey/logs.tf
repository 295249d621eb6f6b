################################################################################
# Log delivery: slow-log and engine-log, one KMS-encrypted CloudWatch log group each, kept
# log_retention_in_days (ISMS-P access records: 2 years by default).
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  for_each = toset(["slow-log", "engine-log"])

  name              = "/aws/elasticache/${local.replication_group_id}/${each.key}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = "${local.replication_group_id}-${each.key}" })
}
