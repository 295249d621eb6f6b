output "region" {
  description = "Home region of the baseline"
  value       = var.region
}

output "audit_bucket" {
  description = "Object-Locked bucket of the trail's logs and Config's snapshots"
  value       = aws_s3_bucket.audit.id
}

output "audit_kms_key_arn" {
  description = "KMS key of the audit records"
  value       = aws_kms_key.audit.arn
}

output "trail_arn" {
  description = "ARN of kyeol's trail; empty when an existing (organization) trail records the account"
  value       = var.create_trail ? aws_cloudtrail.this[0].arn : ""
}

output "guardduty_detector_id" {
  description = "kyeol's GuardDuty detector; empty when the region's detector existed already"
  value       = var.create_guardduty_detector ? aws_guardduty_detector.this[0].id : ""
}

output "config_recorder_name" {
  description = "kyeol's AWS Config recorder; empty when another recorder existed already"
  value       = var.create_config_recorder ? aws_config_configuration_recorder.this[0].name : ""
}

output "access_analyzer_arn" {
  description = "kyeol's account Access Analyzer; empty when one existed already"
  value       = var.create_access_analyzer ? aws_accessanalyzer_analyzer.account[0].arn : ""
}

output "config_rules" {
  description = "Names of the AWS Config managed rules"
  value       = sort([for r in aws_config_config_rule.managed : r.name])
}
