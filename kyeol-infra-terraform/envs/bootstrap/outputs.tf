################################################################################
# Backend facts (kyeol passes them to every other root as -backend-config)
################################################################################

output "state_bucket" {
  description = "S3 bucket holding every other root's state (`jung-kyeol-tfstate-<account>`)"
  value       = aws_s3_bucket.state.id
}

output "lock_table" {
  description = "DynamoDB lock table (`jung-kyeol-tflock`)"
  value       = aws_dynamodb_table.lock.name
}

output "kms_key_arn" {
  description = "KMS key encrypting the state bucket and the lock table"
  value       = module.kms.key_arn
}

output "region" {
  description = "Region of the bucket and the table"
  value       = var.region
}
