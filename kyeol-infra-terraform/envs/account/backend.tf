# Partial configuration: kyeol passes bucket, key (envs/account/terraform.tfstate), region,
# dynamodb_table, use_lockfile and encrypt with -backend-config (see README.md).
terraform {
  backend "s3" {}
}
