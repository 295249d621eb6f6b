################################################################################
# Replication Group
################################################################################

output "replication_group_id" {
  description = "ID of the replication group"
  value       = aws_elasticache_replication_group.this.id
}

output "primary_endpoint_address" {
  description = "Primary endpoint (TLS, AUTH required)"
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "reader_endpoint_address" {
  description = "Reader endpoint"
  value       = aws_elasticache_replication_group.this.reader_endpoint_address
}

output "port" {
  description = "Port of the cache"
  value       = local.port
}

output "security_group_id" {
  description = "Security group of the cache"
  value       = aws_security_group.this.id
}

################################################################################
# Connection Secret
################################################################################

output "connection_secret_arn" {
  description = "ARN of `<name>-saleor-cache` (endpoint and AUTH token; the value is never in state)"
  value       = aws_secretsmanager_secret.connection.arn
}
