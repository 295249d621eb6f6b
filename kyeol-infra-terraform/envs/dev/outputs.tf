# Shared by envs/dev, envs/stage and envs/prod (their outputs.tf is a symlink to this file).

################################################################################
# EKS
################################################################################

output "cluster_name" {
  description = "Name of the cluster (`jung-<env>-eks`; Argo CD destination name)"
  value       = module.environment.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint"
  value       = module.environment.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the API (Argo CD cluster Secret `caData`)"
  value       = module.environment.cluster_certificate_authority_data
}

output "cluster_oidc_issuer_url" {
  description = "OIDC issuer URL of the cluster"
  value       = module.environment.cluster_oidc_issuer_url
}

output "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster (IRSA)"
  value       = module.environment.oidc_provider_arn
}

################################################################################
# VPC
################################################################################

output "vpc_id" {
  description = "ID of the VPC (LBC `vpcId`)"
  value       = module.environment.vpc_id
}

output "region" {
  description = "AWS region"
  value       = var.region
}

################################################################################
# IAM roles
################################################################################

output "argocd_deployer_role_arn" {
  description = "Role Argo CD assumes for this cluster (cluster Secret `awsAuthConfig.roleARN`)"
  value       = module.environment.argocd_deployer_role_arn
}

output "lbc_role_arn" {
  description = "IRSA role of the AWS Load Balancer Controller"
  value       = module.environment.lbc_role_arn
}

output "external_dns_role_arn" {
  description = "IRSA role of ExternalDNS"
  value       = module.environment.external_dns_role_arn
}

output "external_secrets_role_arn" {
  description = "IRSA role of External Secrets"
  value       = module.environment.external_secrets_role_arn
}

output "cluster_autoscaler_role_arn" {
  description = "IRSA role of Cluster Autoscaler (cluster Secret annotation `kyeol.io/cluster-autoscaler-role-arn`)"
  value       = module.environment.cluster_autoscaler_role_arn
}

output "saleor_role_arn" {
  description = "IRSA role of Saleor's api and worker (ServiceAccount annotation `eks.amazonaws.com/role-arn` in the app overlay)"
  value       = module.environment.saleor_role_arn
}

################################################################################
# DNS and certificates
################################################################################

output "hosted_zone_id" {
  description = "ID of the public hosted zone (ExternalDNS)"
  value       = module.environment.hosted_zone_id
}

output "alb_certificate_arn" {
  description = "ap-northeast-1 certificate of this env's origin names only, the one the load balancer controller discovers for its Ingress"
  value       = module.environment.alb_certificate_arn
}

################################################################################
# Data stores
################################################################################

output "rds_instance_id" {
  description = "Identifier of the PostgreSQL instance"
  value       = module.environment.rds_instance_id
}

output "rds_endpoint" {
  description = "PostgreSQL endpoint (`host:port`)"
  value       = module.environment.rds_endpoint
}

output "valkey_replication_group_id" {
  description = "ID of the Valkey replication group"
  value       = module.environment.valkey_replication_group_id
}

output "valkey_primary_endpoint" {
  description = "Primary endpoint of Valkey (TLS, AUTH)"
  value       = module.environment.valkey_primary_endpoint
}

################################################################################
# Saleor media
################################################################################

output "alb_access_logs_bucket" {
  description = "Bucket of the ALB's access logs (access_logs.s3.bucket in the app overlay's Ingress)"
  value       = module.environment.alb_access_logs_bucket
}

output "media_bucket" {
  description = "Saleor's media bucket (AWS_MEDIA_BUCKET_NAME in the app overlay); keys under `media/` (AWS_LOCATION)"
  value       = module.environment.media_bucket
}

output "private_media_bucket" {
  description = "Saleor's private bucket (AWS_MEDIA_PRIVATE_BUCKET_NAME in the app overlay; webhook payloads); not behind CloudFront"
  value       = module.environment.private_media_bucket
}

output "media_host" {
  description = "Public host serving the media at `/media/*` (AWS_MEDIA_CUSTOM_DOMAIN in the app overlay): the API host"
  value       = module.environment.media_host
}

################################################################################
# Edge
################################################################################

output "cloudfront_distribution_ids" {
  description = "Map `service`/`api` to CloudFront distribution ID"
  value       = module.environment.cloudfront_distribution_ids
}

################################################################################
# Secrets (ARNs only; values never leave Secrets Manager)
################################################################################

output "secret_arns" {
  description = "Map purpose to Secrets Manager ARN: `saleor-app`, `saleor-db`, `saleor-cache`, `origin-verify`"
  value       = module.environment.secret_arns
}

################################################################################
# PG NAT (prod only)
################################################################################

output "pg_nat_eip" {
  description = "Fixed egress IP of the dedicated PG NAT gateway, the payment gateway's allow-list (prod only; null elsewhere)"
  value       = module.environment.pg_nat_eip
}
