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

################################################################################
# kyeol in GitHub Actions
################################################################################

output "plan_role_arn" {
  description = "Role pull requests assume for read-only plans (repository variable KYEOL_PLAN_ROLE_ARN)"
  value       = aws_iam_role.plan.arn
}

output "deploy_role_arns" {
  description = "Map environment to the role its GitHub environment assumes (environment variable KYEOL_DEPLOY_ROLE_ARN)"
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}

output "plan_subjects" {
  description = "The `sub` claims the plan role trusts"
  value       = local.plan_subjects
}

output "deploy_subjects" {
  description = "Map environment to the `sub` claims its deploy role trusts"
  value       = local.deploy_subjects
}
