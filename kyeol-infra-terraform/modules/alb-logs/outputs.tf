output "bucket" {
  description = "Name of the ALB access log bucket (the Ingress's access_logs.s3.bucket)"
  value       = aws_s3_bucket.this.id
}

output "key_prefix" {
  description = "Prefix of the log objects (the Ingress's access_logs.s3.prefix)"
  value       = var.key_prefix
}
