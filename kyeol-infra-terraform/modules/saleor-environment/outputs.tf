################################################################################
# EKS
################################################################################

output "cluster_name" {
  description = "Name of the cluster (`jung-<env>-eks`; Argo CD destination name)"
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint"
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the API (Argo CD cluster Secret `caData`)"
  value       = module.eks.cluster_certificate_authority_data
}

output "cluster_oidc_issuer_url" {
  description = "OIDC issuer URL of the cluster"
  value       = module.eks.cluster_oidc_issuer_url
}

output "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster (IRSA)"
  value       = module.eks.oidc_provider_arn
}

################################################################################
# VPC
################################################################################

output "vpc_id" {
  description = "ID of the VPC (LBC `vpcId`)"
  value       = module.vpc.vpc_id
}

################################################################################
# IAM roles
################################################################################

output "argocd_deployer_role_arn" {
  description = "Role Argo CD assumes for this cluster (cluster Secret `awsAuthConfig.roleARN`)"
  value       = module.irsa.argocd_deployer_role_arn
}

output "lbc_role_arn" {
  description = "IRSA role of the AWS Load Balancer Controller"
  value       = module.irsa.lbc_role_arn
}

output "external_dns_role_arn" {
  description = "IRSA role of ExternalDNS"
  value       = module.irsa.external_dns_role_arn
}

output "external_secrets_role_arn" {
  description = "IRSA role of External Secrets"
  value       = module.irsa.external_secrets_role_arn
}

output "cluster_autoscaler_role_arn" {
  description = "IRSA role of Cluster Autoscaler"
  value       = module.irsa.cluster_autoscaler_role_arn
}

output "saleor_role_arn" {
  description = "IRSA role of Saleor's api and worker (ServiceAccount annotation `eks.amazonaws.com/role-arn`)"
  value       = module.irsa.saleor_role_arn
}

################################################################################
# DNS and certificates
################################################################################

output "hosted_zone_id" {
  description = "ID of the public hosted zone (ExternalDNS)"
  value       = module.dns_acm.hosted_zone_id
}

output "alb_certificate_arn" {
  description = "ap-northeast-1 certificate of this env's origin names only, the one the load balancer controller discovers for its Ingress"
  value       = module.dns_acm.certificate_arn
}

################################################################################
# Data stores
################################################################################

output "rds_instance_id" {
  description = "Identifier of the PostgreSQL instance"
  value       = module.rds.instance_id
}

output "rds_endpoint" {
  description = "PostgreSQL endpoint (`host:port`)"
  value       = module.rds.endpoint
}

output "valkey_replication_group_id" {
  description = "ID of the Valkey replication group"
  value       = module.valkey.replication_group_id
}

output "valkey_primary_endpoint" {
  description = "Primary endpoint of Valkey (TLS, AUTH)"
  value       = module.valkey.primary_endpoint_address
}

################################################################################
# Saleor media
################################################################################

output "alb_access_logs_bucket" {
  description = "Bucket of the ALB's access logs (access_logs.s3.bucket in the Ingress's load-balancer-attributes)"
  value       = module.alb_logs.bucket
}

output "media_bucket" {
  description = "Saleor's media bucket (AWS_MEDIA_BUCKET_NAME); keys under `media/` (AWS_LOCATION)"
  value       = module.media.bucket
}

output "private_media_bucket" {
  description = "Saleor's private bucket (AWS_MEDIA_PRIVATE_BUCKET_NAME; webhook payloads under `media/`); not behind CloudFront"
  value       = module.private_media.bucket
}

output "media_host" {
  description = "Public host serving the media at `/media/*` (AWS_MEDIA_CUSTOM_DOMAIN): the API host"
  value       = module.edge.media_host
}

################################################################################
# Edge
################################################################################

output "cloudfront_distribution_ids" {
  description = "Map `service`/`api` to CloudFront distribution ID"
  value       = module.edge.distribution_ids
}

################################################################################
# Secrets (ARNs only; values never leave Secrets Manager)
################################################################################

output "secret_arns" {
  description = "Map purpose to Secrets Manager ARN: `saleor-app`, `saleor-db`, `saleor-cache`, `origin-verify`"
  value = {
    "saleor-app"    = module.app_secrets.secret_arn
    "saleor-db"     = module.rds.connection_secret_arn
    "saleor-cache"  = module.valkey.connection_secret_arn
    "origin-verify" = module.edge.origin_verify_secret_arn
  }
}

################################################################################
# PG NAT (PROD only)
################################################################################

output "pg_nat_eip" {
  description = "Fixed egress IP of the dedicated PG NAT gateway (the payment gateway's allow-list); null without `create_pg_nat`"
  value       = try(module.pg_nat[0].pg_nat_eip, null)
}
