################################################################################
# GitHub OIDC provider
################################################################################

output "provider_arn" {
  description = "ARN of the GitHub OIDC provider"
  value       = local.provider_arn
}

################################################################################
# Role
################################################################################

output "role_arn" {
  description = "ARN of the role the image workflow assumes (`role-to-assume`)"
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the role"
  value       = aws_iam_role.this.name
}

output "trusted_subjects" {
  description = "The `sub` claims the role trusts"
  value       = local.subjects
}
