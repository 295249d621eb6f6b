################################################################################
# Repositories
################################################################################

output "repository_urls" {
  description = "Map of repository name to URL (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`)"
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "repository_arns" {
  description = "Map of repository name to ARN"
  value       = { for k, r in aws_ecr_repository.this : k => r.arn }
}

output "registry_id" {
  description = "Registry (account) id of the repositories"
  value       = one(distinct([for r in aws_ecr_repository.this : r.registry_id]))
}
