# PROD (runbook §1, §2.2, §3): the application environment of modules/saleor-environment, sized
# by terraform.tfvars, with the dedicated PG NAT and its egress node group switched on.

module "environment" {
  source = "../../modules/saleor-environment"

  name_prefix         = var.name_prefix
  environment         = var.environment
  domain              = var.domain
  service_host        = var.service_host
  api_host            = var.api_host
  mgmt_account_id     = var.mgmt_account_id
  deletion_protection = var.deletion_protection

  azs                = var.azs
  vpc_cidr           = var.vpc_cidr
  single_nat_gateway = var.single_nat_gateway

  kubernetes_version           = var.kubernetes_version
  node_instance_type           = var.node_instance_type
  node_min_size                = var.node_min_size
  node_max_size                = var.node_max_size
  node_desired_size            = var.node_desired_size
  operator_cidrs               = var.operator_cidrs
  mgmt_nat_cidrs               = var.mgmt_nat_cidrs
  cluster_admin_principal_arns = var.cluster_admin_principal_arns

  rds_instance_class       = var.rds_instance_class
  rds_multi_az             = var.rds_multi_az
  cache_node_type          = var.cache_node_type
  cache_num_cache_clusters = var.cache_num_cache_clusters

  app_secret_version       = var.app_secret_version
  db_password_version      = var.db_password_version
  cache_auth_token_version = var.cache_auth_token_version
  origin_verify_version    = var.origin_verify_version

  # Runbook §2.2: payment-gateway traffic leaves through one fixed address. Its node group is
  # part of the node_*_size totals (runbook §3); the module gives the main group the rest.
  create_pg_nat        = true
  pg_node_min_size     = var.pg_node_min_size
  pg_node_max_size     = var.pg_node_max_size
  pg_node_desired_size = var.pg_node_desired_size
}
