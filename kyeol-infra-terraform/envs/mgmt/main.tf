provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project     = "kyeol"
      environment = var.environment
      managed-by  = "terraform/kyeol"
    }
  }
}

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

  repositories = { for image in var.images : image => "${var.name_prefix}${image}" }

  cluster_admins = { for i, arn in var.cluster_admin_principal_arns : "admin-${i}" => { principal_arn = arn } }
}

################################################################################
# KMS
################################################################################

module "kms" {
  source = "../../modules/kms"

  name        = local.name
  description = "${local.name}: EKS secrets, logs, ECR images"
}

################################################################################
# VPC
################################################################################

module "vpc" {
  source = "../../modules/vpc"

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
# EKS (Argo CD runs here)
################################################################################

module "eks" {
  source = "../../modules/eks"

  name               = local.cluster_name
  kubernetes_version = var.kubernetes_version
  subnet_ids         = module.vpc.private_subnet_ids
  kms_key_arn        = module.kms.key_arn

  endpoint_public_access_cidrs = var.operator_cidrs
  access_entries               = local.cluster_admins

  node_instance_type = var.node_instance_type
  node_min_size      = var.node_min_size
  node_max_size      = var.node_max_size
  node_desired_size  = var.node_desired_size
}

################################################################################
# Argo CD management role (IRSA)
################################################################################

module "irsa" {
  source = "../../modules/irsa"

  name_prefix       = var.name_prefix
  environment       = var.environment
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_provider     = module.eks.oidc_provider

  create_argocd_manager_role = true
  argocd_target_accounts     = var.argocd_target_accounts
}

################################################################################
# ECR (kyeol applies module.ecr and module.github_oidc first: images can build early)
################################################################################

module "ecr" {
  source = "../../modules/ecr"

  name_prefix      = var.name_prefix
  repository_names = values(local.repositories)
  kms_key_arn      = module.kms.key_arn
  pull_account_ids = var.ecr_pull_account_ids
}

################################################################################
# GitHub OIDC (image push role; kyeol plan role for pull requests, deploy role per environment)
################################################################################

module "github_oidc" {
  source = "../../modules/github-oidc"

  create_provider      = var.create_github_oidc_provider
  name_prefix          = var.name_prefix
  role_name            = "${local.name}-github-ecr-push"
  github_repository    = var.github_repository
  github_owner_id      = var.github_owner_id
  github_repository_id = var.github_repository_id
  ecr_repository_arns  = values(module.ecr.repository_arns)
}
