################################################################################
# Instance
################################################################################

output "instance_id" {
  description = "Identifier of the DB instance"
  value       = aws_db_instance.this.identifier
}

output "instance_arn" {
  description = "ARN of the DB instance"
  value       = aws_db_instance.this.arn
}

output "endpoint" {
  description = "Connection endpoint (`host:port`)"
  value       = aws_db_instance.this.endpoint
}

output "address" {
  description = "Host name of the instance"
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the instance"
  value       = aws_db_instance.this.port
}

output "security_group_id" {
  description = "Security group of the instance"
  value       = aws_security_group.this.id
}

################################################################################
# Secrets
################################################################################

output "connection_secret_arn" {
  description = "ARN of `<name>-saleor-db` (host, port, dbname, username, password; the value is never in state)"
  value       = aws_secretsmanager_secret.connection.arn
}
