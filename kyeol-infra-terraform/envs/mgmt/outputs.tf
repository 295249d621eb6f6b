################################################################################
# EKS
################################################################################

output "cluster_name" {
  description = "Name of the MGMT cluster (`jung-mgmt-eks`)"
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint of the MGMT cluster"
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the MGMT cluster's API"
  value       = module.eks.cluster_certificate_authority_data
}

output "cluster_oidc_issuer_url" {
  description = "OIDC issuer URL of the MGMT cluster"
  value       = module.eks.cluster_oidc_issuer_url
}

output "oidc_provider_arn" {
  description = "IAM OIDC provider of the MGMT cluster (IRSA)"
  value       = module.eks.oidc_provider_arn
}

################################################################################
# VPC
################################################################################

output "vpc_id" {
  description = "ID of the MGMT VPC"
  value       = module.vpc.vpc_id
}

output "nat_public_ips" {
  description = "Public addresses of MGMT's NAT gateways: Argo CD reaches the env clusters' public API endpoints from them, so kyeol passes them to the env roots as `mgmt_nat_cidrs`"
  value       = module.vpc.nat_public_ips
}

################################################################################
# ECR
################################################################################

output "ecr_repository_urls" {
  description = "Map image (`saleor-api`, `saleor-dashboard`, `saleor-storefront`) to repository URL"
  value       = { for image, repo in local.repositories : image => module.ecr.repository_urls[repo] }
}

################################################################################
# GitHub OIDC
################################################################################

output "github_actions_role_arn" {
  description = "Role the image workflow assumes (`jung-mgmt-github-ecr-push`)"
  value       = module.github_oidc.role_arn
}

output "github_plan_role_arn" {
  description = "Role kyeol's pull-request plans assume (`jung-mgmt-github-plan`; repository variable KYEOL_PLAN_ROLE_ARN)"
  value       = module.github_oidc.plan_role_arn
}

output "github_deploy_role_arns" {
  description = "Map environment to the role kyeol's deploy job assumes (`jung-<env>-github-deploy`; environment variable KYEOL_DEPLOY_ROLE_ARN)"
  value       = module.github_oidc.deploy_role_arns
}

################################################################################
# Argo CD
################################################################################

output "argocd_manager_role_arn" {
  description = "Role of the Argo CD service accounts (`jung-mgmt-argocd-manager`)"
  value       = module.irsa.argocd_manager_role_arn
}

output "region" {
  description = "AWS region of MGMT"
  value       = var.region
}
