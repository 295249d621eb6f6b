################################################################################
# Media bucket
################################################################################

output "bucket" {
  description = "Name of the media bucket (Saleor's AWS_MEDIA_BUCKET_NAME)"
  value       = aws_s3_bucket.media.id
}

output "bucket_arn" {
  description = "ARN of the media bucket (the IRSA policy scopes to `<arn>/<key_prefix>/*`)"
  value       = aws_s3_bucket.media.arn
}

output "bucket_regional_domain_name" {
  description = "Regional S3 endpoint of the bucket (CloudFront's `/media/*` origin)"
  value       = aws_s3_bucket.media.bucket_regional_domain_name
}

output "key_prefix" {
  description = "Folder Saleor writes under (its AWS_LOCATION)"
  value       = var.key_prefix
}

################################################################################
# Access logs
################################################################################

output "logs_bucket" {
  description = "S3 bucket receiving the media bucket's server access logs"
  value       = module.logs.id
}
