output "id" {
  description = "Name of the log bucket (the target_bucket of aws_s3_bucket_logging)"
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "ARN of the log bucket"
  value       = aws_s3_bucket.this.arn
}

output "key_prefix" {
  description = "The target_prefix the source buckets must log under"
  value       = var.key_prefix
}
