# MGMT: Argo CD and ECR (runbook §3: t3.medium x 2, no RDS/Valkey). Sizes agree with kyeol.toml
# [envs.mgmt]. No secrets here.
name_prefix = "jung-"
environment = "mgmt"
region      = "ap-northeast-1"
vpc_cidr    = "10.0.0.0/16"

node_instance_type = "t3.medium"
node_min_size      = 2
node_max_size      = 2
node_desired_size  = 2

# Who may reach the public API endpoint (kyeol, helm). TEST-NET-3 documentation range:
# replace with your operator network(s) before a real deploy, like the account ids in kyeol.toml.
operator_cidrs = ["203.0.113.0/24"]

# dev/stage/prod accounts (kyeol.toml envs.<env>.account_id) whose node roles pull images.
ecr_pull_account_ids = ["123456789012"]

# The envs Argo CD deploys to and their accounts (kyeol.toml envs.<env>.account_id): the
# manager role may assume `<prefix><env>-argocd-deployer` in exactly these.
argocd_target_accounts = {
  dev   = "123456789012"
  stage = "123456789012"
  prod  = "123456789012"
}

github_repository = "kyeol/kyeol"
