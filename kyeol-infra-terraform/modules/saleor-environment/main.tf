# The three AZs are named (not "the first three available"), so a new AZ never moves subnets.
data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "zone-name"
    values = var.azs
  }
}

locals {
  name         = "${var.name_prefix}${var.environment}"
  cluster_name = "${local.name}-eks"
  azs          = sort(data.aws_availability_zones.available.names)

  # /16 plan (scales down to /20): private = three quarters (/18 each) for nodes and pods
  # (prefix delegation takes /28s); public and database /22s in the last quarter.
  private_subnets  = [for i in range(3) : cidrsubnet(var.vpc_cidr, 2, i)]
  public_subnets   = [for i in range(3) : cidrsubnet(var.vpc_cidr, 6, 48 + i)]
  database_subnets = [for i in range(3) : cidrsubnet(var.vpc_cidr, 6, 52 + i)]
  pg_nat_subnets   = [for i in range(3) : cidrsubnet(var.vpc_cidr, 6, 56 + i)]

  # Origin names ExternalDNS points at the ALB (steps/wiring/config.py EnvConfig._origin):
  # dev.<domain> -> origin-dev.<domain>, the apex -> origin.<domain>.
  service_label       = trimsuffix(trimsuffix(var.service_host, var.domain), ".")
  api_label           = trimsuffix(trimsuffix(var.api_host, var.domain), ".")
  origin_service_host = local.service_label == "" ? "origin.${var.domain}" : "origin-${local.service_label}.${var.domain}"
  origin_api_host     = "origin-${local.api_label}.${var.domain}"

  secret_recovery_window_in_days = var.deletion_protection ? 30 : 0
  # Versioned buckets (media, access logs) block terraform destroy while they hold objects: an
  # env without deletion protection (dev) is disposable, so `kyeol destroy` empties them.
  buckets_force_destroy = !var.deletion_protection

  # Saleor's AWS_LOCATION: objects live under media/ and CloudFront serves /media/<key>.
  media_key_prefix = "media"

  cluster_admins = { for i, arn in var.cluster_admin_principal_arns : "admin-${i}" => { principal_arn = arn } }

  # Runbook §3's "t3.medium x 3-5" counts every node of the cluster: with the PG NAT, the
  # dedicated egress group's nodes are part of the total, so the main group gets what is left.
  pg_node_min_size       = var.create_pg_nat ? var.pg_node_min_size : 0
  pg_node_max_size       = var.create_pg_nat ? var.pg_node_max_size : 0
  pg_node_desired_size   = var.create_pg_nat ? var.pg_node_desired_size : 0
  main_node_min_size     = var.node_min_size - local.pg_node_min_size
  main_node_max_size     = var.node_max_size - local.pg_node_max_size
  main_node_desired_size = var.node_desired_size - local.pg_node_desired_size
}

################################################################################
# KMS
################################################################################

module "kms" {
  source = "../kms"

  name                = local.name
  description         = "${local.name}: EKS secrets, logs, RDS, Valkey, Secrets Manager, CloudFront logs"
  enable_log_delivery = true
}

################################################################################
# VPC
################################################################################

module "vpc" {
  source = "../vpc"

  name             = local.name
  cidr             = var.vpc_cidr
  azs              = local.azs
  public_subnets   = local.public_subnets
  private_subnets  = local.private_subnets
  database_subnets = local.database_subnets
  cluster_name     = local.cluster_name

  single_nat_gateway = var.single_nat_gateway
  kms_key_arn        = module.kms.key_arn
}

################################################################################
# EKS
################################################################################

module "eks" {
  source = "../eks"

  name               = local.cluster_name
  kubernetes_version = var.kubernetes_version
  subnet_ids         = module.vpc.private_subnet_ids
  kms_key_arn        = module.kms.key_arn

  endpoint_public_access_cidrs = distinct(concat(var.operator_cidrs, var.mgmt_nat_cidrs))

  # Argo CD (MGMT) deploys through the deployer role: cluster admin via an access entry.
  access_entries = merge(local.cluster_admins, {
    argocd = { principal_arn = module.irsa.argocd_deployer_role_arn }
  })

  node_instance_type = var.node_instance_type
  node_min_size      = local.main_node_min_size
  node_max_size      = local.main_node_max_size
  node_desired_size  = local.main_node_desired_size
}

################################################################################
# DNS and ALB certificate (ap-northeast-1: this env's two origin names, nothing else)
################################################################################

# The load balancer controller discovers every ISSUED certificate of the region matching an
# Ingress host (aws-load-balancer-controller v3.5.0 pkg/certs/cert_discovery.go), and ACM
# gives a name one validation record per account: a certificate of this env's origin names
# only is attached to this env's ALB only, and its validation records belong to this root
# only, so destroying one env leaves the others' certificates and records alone.
module "dns_acm" {
  source = "../dns-acm"

  domain                    = var.domain
  certificate_domain_name   = local.origin_service_host
  subject_alternative_names = [local.origin_api_host]
}

################################################################################
# RDS (PostgreSQL 17)
################################################################################

module "rds" {
  source = "../rds"

  name             = local.name
  instance_class   = var.rds_instance_class
  multi_az         = var.rds_multi_az
  password_version = var.db_password_version

  vpc_id                  = module.vpc.vpc_id
  subnet_ids              = module.vpc.database_subnet_ids
  allowed_security_groups = { eks_cluster = module.eks.cluster_security_group_id }

  deletion_protection            = var.deletion_protection
  kms_key_arn                    = module.kms.key_arn
  secret_recovery_window_in_days = local.secret_recovery_window_in_days
}

################################################################################
# Valkey
################################################################################

module "valkey" {
  source = "../valkey"

  name               = local.name
  node_type          = var.cache_node_type
  num_cache_clusters = var.cache_num_cache_clusters
  auth_token_version = var.cache_auth_token_version

  vpc_id                  = module.vpc.vpc_id
  subnet_ids              = module.vpc.database_subnet_ids
  allowed_security_groups = { eks_cluster = module.eks.cluster_security_group_id }

  kms_key_arn                    = module.kms.key_arn
  secret_recovery_window_in_days = local.secret_recovery_window_in_days
}

################################################################################
# Saleor application secret (SECRET_KEY, RSA_PRIVATE_KEY)
################################################################################

module "app_secrets" {
  source = "../app-secrets"

  name                    = local.name
  secret_version          = var.app_secret_version
  kms_key_arn             = module.kms.key_arn
  recovery_window_in_days = local.secret_recovery_window_in_days
}

################################################################################
# IAM roles for service accounts and Argo CD
################################################################################

module "irsa" {
  source = "../irsa"

  name_prefix       = var.name_prefix
  environment       = var.environment
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_provider     = module.eks.oidc_provider

  create_lbc_role = true

  create_external_dns_role    = true
  external_dns_hosted_zone_id = module.dns_acm.hosted_zone_id
  external_dns_record_names   = [local.origin_service_host, local.origin_api_host]

  create_external_secrets_role = true
  external_secrets_kms_key_arn = module.kms.key_arn

  create_cluster_autoscaler_role  = true
  cluster_autoscaler_cluster_name = local.cluster_name

  create_saleor_role      = true
  saleor_media_bucket_arn = module.media.bucket_arn
  saleor_media_key_prefix = module.media.key_prefix

  saleor_private_bucket_arn  = module.private_media.bucket_arn
  saleor_private_kms_key_arn = module.private_media.kms_key_arn

  create_argocd_deployer_role = true
  argocd_manager_account_id   = var.mgmt_account_id
}

################################################################################
# Edge (CloudFront + WAF from global/us-east-1, viewer records)
################################################################################

module "edge" {
  source = "../edge"

  name                = local.name
  domain              = var.domain
  hosted_zone_id      = module.dns_acm.hosted_zone_id
  service_host        = var.service_host
  api_host            = var.api_host
  origin_service_host = local.origin_service_host
  origin_api_host     = local.origin_api_host
  web_acl_name        = "${var.name_prefix}cloudfront-waf"

  media_bucket_regional_domain_name = module.media.bucket_regional_domain_name
  media_key_prefix                  = module.media.key_prefix

  origin_verify_version          = var.origin_verify_version
  kms_key_arn                    = module.kms.key_arn
  secret_recovery_window_in_days = local.secret_recovery_window_in_days
  force_destroy                  = local.buckets_force_destroy
}

################################################################################
# Saleor media (S3, read by the API distribution, written through IRSA)
################################################################################

module "media" {
  source = "../saleor-media"

  name                        = local.name
  key_prefix                  = local.media_key_prefix
  cloudfront_distribution_arn = module.edge.media_distribution_arn
  force_destroy               = local.buckets_force_destroy
}

################################################################################
# Saleor private storage (S3, webhook payloads; never behind CloudFront)
################################################################################

module "private_media" {
  source = "../saleor-private-media"

  name          = local.name
  key_prefix    = local.media_key_prefix
  kms_key_arn   = module.kms.key_arn
  force_destroy = local.buckets_force_destroy
}

################################################################################
# ALB access logs (ISMS-P access records; the Saleor Ingress names the bucket)
################################################################################

module "alb_logs" {
  source = "../alb-logs"

  name          = local.name
  force_destroy = local.buckets_force_destroy
}

################################################################################
# PG NAT (runbook §2.2: payment-gateway traffic leaves from one fixed address; PROD only)
################################################################################

module "pg_nat" {
  source = "../pg-nat"
  count  = var.create_pg_nat ? 1 : 0

  name             = local.name
  vpc_id           = module.vpc.vpc_id
  public_subnet_id = module.vpc.public_subnet_ids[0]
  # The EIP and NAT gateway wait for the internet gateway, the node group for vpc-cni.
  internet_gateway_id = module.vpc.internet_gateway_id
  vpc_cni_addon_id    = module.eks.vpc_cni_addon_id
  azs                 = local.azs
  subnet_cidrs        = local.pg_nat_subnets

  cluster_name            = module.eks.cluster_name
  node_role_arn           = module.eks.node_role_arn
  launch_template_id      = module.eks.node_launch_template_id
  launch_template_version = module.eks.node_launch_template_version
  node_instance_type      = var.node_instance_type
  node_min_size           = var.pg_node_min_size
  node_max_size           = var.pg_node_max_size
  node_desired_size       = var.pg_node_desired_size
}
