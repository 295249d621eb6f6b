################################################################################
# AWS Load Balancer Controller
################################################################################

output "lbc_role_arn" {
  description = "IAM role of the AWS Load Balancer Controller (null when not created)"
  value       = try(aws_iam_role.lbc[0].arn, null)
}

################################################################################
# ExternalDNS
################################################################################

output "external_dns_role_arn" {
  description = "IAM role of ExternalDNS (null when not created)"
  value       = try(aws_iam_role.external_dns[0].arn, null)
}

################################################################################
# External Secrets
################################################################################

output "external_secrets_role_arn" {
  description = "IAM role of External Secrets (null when not created)"
  value       = try(aws_iam_role.external_secrets[0].arn, null)
}

################################################################################
# Cluster Autoscaler
################################################################################

output "cluster_autoscaler_role_arn" {
  description = "IAM role of Cluster Autoscaler (null when not created)"
  value       = try(aws_iam_role.cluster_autoscaler[0].arn, null)
}

################################################################################
# Saleor
################################################################################

output "saleor_role_arn" {
  description = "IAM role of Saleor's api and worker service accounts (null when not created)"
  value       = try(aws_iam_role.saleor[0].arn, null)
}

################################################################################
# Argo CD
################################################################################

output "argocd_manager_role_arn" {
  description = "IAM role the MGMT Argo CD service accounts assume (null when not created)"
  value       = try(aws_iam_role.argocd_manager[0].arn, null)
}

output "argocd_deployer_role_arn" {
  description = "IAM role Argo CD assumes to deploy to this env's cluster (null when not created)"
  value       = try(aws_iam_role.argocd_deployer[0].arn, null)
}
