################################################################################
# Private bucket
################################################################################

output "bucket" {
  description = "Name of the private bucket (Saleor's AWS_MEDIA_PRIVATE_BUCKET_NAME)"
  value       = aws_s3_bucket.private.id
}

output "bucket_arn" {
  description = "ARN of the private bucket (the IRSA policy scopes to `<arn>/<key_prefix>/*`)"
  value       = aws_s3_bucket.private.arn
}

output "key_prefix" {
  description = "Folder Saleor writes under (its AWS_LOCATION, which private storage shares)"
  value       = var.key_prefix
}

output "kms_key_arn" {
  description = "KMS key the objects are encrypted with (the IRSA policy may use it through S3 only)"
  value       = var.kms_key_arn
}

################################################################################
# Access logs
################################################################################

output "logs_bucket" {
  description = "S3 bucket receiving the private bucket's server access logs"
  value       = module.logs.id
}
