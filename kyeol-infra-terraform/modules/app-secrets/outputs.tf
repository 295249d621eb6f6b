################################################################################
# Application Secret
################################################################################

output "secret_arn" {
  description = "ARN of `<name>-saleor-app` (SECRET_KEY, RSA_PRIVATE_KEY)"
  value       = aws_secretsmanager_secret.this.arn
}

output "secret_name" {
  description = "Name of the application secret"
  value       = aws_secretsmanager_secret.this.name
}
