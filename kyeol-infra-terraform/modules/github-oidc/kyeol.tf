################################################################################
# kyeol in GitHub Actions: a plan role for pull requests, a deploy role per environment
#
# Subjects (token.actions.githubusercontent.com `sub`, docs.github.com "About security
# hardening with OpenID Connect"): a job of a pull_request workflow carries
# `repo:OWNER/REPO:pull_request`; a job that names a GitHub environment carries
# `repo:OWNER/REPO:environment:NAME` whatever its event or ref. Each role trusts exactly one
# of them (legacy and immutable form), never a wildcard.
################################################################################

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.region

  state_bucket     = coalesce(var.state_bucket, "${var.name_prefix}kyeol-tfstate-${local.account}")
  state_bucket_arn = "arn:${local.partition}:s3:::${local.state_bucket}"
  lock_table_arn   = "arn:${local.partition}:dynamodb:${local.region}:${local.account}:table/${coalesce(var.lock_table, "${var.name_prefix}kyeol-tflock")}"
  state_kms_alias  = coalesce(var.state_kms_alias, "alias/${var.name_prefix}kyeol-tfstate")

  # Pull requests, and the nightly drift job, which runs in GitHub environment "drift" (main
  # only, no reviewers) because a scheduled job's own subject is the branch's, shared by any
  # workflow on main.
  plan_subjects = concat(
    [for r in local.subject_repos : "repo:${r}:pull_request"],
    var.drift_environment != null ? [for r in local.subject_repos : "repo:${r}:environment:${var.drift_environment}"] : [],
  )
  deploy_subjects = {
    for env in var.deploy_environments : env => [for r in local.subject_repos : "repo:${r}:environment:${env}"]
  }

  # The state objects a deploy of <env> writes: its own root, the shared MGMT and global roots
  # (a deploy runs the shared steps too; bootstrap keeps local state), and kyeol's own state.
  deploy_state_objects = {
    for env in var.deploy_environments : env => [
      "${local.state_bucket_arn}/envs/${env}/*",
      "${local.state_bucket_arn}/envs/mgmt/*",
      "${local.state_bucket_arn}/global/*",
      "${local.state_bucket_arn}/${var.kyeol_state_prefix}*",
    ]
  }
  # Everything named after another environment: jung-<other>-… in any service's ARN (the last
  # segment of some services holds `:`, hence two forms), its buckets and its state objects.
  other_env_resources = {
    for env in var.deploy_environments : env => flatten([
      for other in setsubtract(["dev", "stage", "prod"], [env]) : [
        "arn:${local.partition}:*:*:*:*${var.name_prefix}${other}-*",
        "arn:${local.partition}:*:*:*:*:*${var.name_prefix}${other}-*",
        "arn:${local.partition}:s3:::${var.name_prefix}${other}-*",
        "${local.state_bucket_arn}/envs/${other}/*",
      ]
    ])
  }
  other_envs = { for env in var.deploy_environments : env => sort(setsubtract(["dev", "stage", "prod"], [env])) }

  # The AWS services the roots manage (resource types of envs/* and modules/*), and the reads
  # kyeol's own checks make (ELBv2 tags, Route53 records, ECR images, STS identity).
  deploy_services = [
    "acm:*", "cloudfront:*", "cloudwatch:*", "ec2:*", "ecr:*", "eks:*", "elasticache:*",
    "elasticloadbalancing:Describe*", "kms:*", "logs:*", "rds:*", "route53:*", "s3:*",
    "secretsmanager:*", "wafv2:*",
  ]
}

################################################################################
# Plan role (pull requests)
################################################################################

data "aws_iam_policy_document" "plan_assume" {
  statement {
    sid     = "GitHubActionsPullRequests"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:sub"
      values   = local.plan_subjects
    }
  }
}

# ReadOnlyAccess (attached below) lets Terraform refresh every resource type the roots use and
# every one a provider upgrade starts reading, without a hand-kept list of Describe/Get/List
# calls that would break plans as the roots grow. It also reads data, which a plan never needs:
# the statements here take that back (objects outside the state bucket, secret values other
# than the origin-verify secret the edge module reads, DynamoDB items other than the state
# digests) and deny, explicitly, every way of writing state or taking a lock, so that nothing
# attached to this role later can make a pull request write what a deploy reads.
data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "StateAndSecretsDecryptThroughTheirServices"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com", "secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  # ReadOnlyAccess has no secret values; the edge module's plan reads this one (data source).
  statement {
    sid       = "OriginVerifySecretThePlanReads"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:${var.name_prefix}*-origin-verify-*"]
  }

  statement {
    sid           = "NoObjectReadsOutsideTheState"
    effect        = "Deny"
    actions       = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes", "s3:GetObjectTorrent"]
    not_resources = ["${local.state_bucket_arn}/*"]
  }

  statement {
    sid           = "NoSecretValuesButTheOneThePlanReads"
    effect        = "Deny"
    actions       = ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"]
    not_resources = ["arn:${local.partition}:secretsmanager:*:${local.account}:secret:${var.name_prefix}*-origin-verify-*"]
  }

  statement {
    sid           = "NoItemReadsButTheStateDigests"
    effect        = "Deny"
    actions       = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:GetRecords"]
    not_resources = [local.lock_table_arn]
  }

  statement {
    sid    = "NeverWriteState"
    effect = "Deny"
    actions = [
      "s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectTagging", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
      "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteObjectTagging", "s3:RestoreObject",
    ]
    resources = [local.state_bucket_arn, "${local.state_bucket_arn}/*"]
  }

  statement {
    sid       = "NeverTakeALock"
    effect    = "Deny"
    actions   = ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"]
    resources = [local.lock_table_arn]
  }
}

resource "aws_iam_role" "plan" {
  name                 = coalesce(var.plan_role_name, "${var.name_prefix}mgmt-github-plan")
  description          = "GitHub Actions (${var.github_repository}, pull requests): kyeol read-only plans"
  assume_role_policy   = data.aws_iam_policy_document.plan_assume.json
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  role       = aws_iam_role.plan.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role_policy" "plan" {
  name   = "kyeol-plan"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}

################################################################################
# Deploy roles (one per GitHub environment)
################################################################################

data "aws_iam_policy_document" "deploy_assume" {
  for_each = local.deploy_subjects

  statement {
    sid     = "GitHubActionsEnvironment"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Only jobs that run in GitHub environment <env> (its protection rules apply first).
    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:sub"
      values   = each.value
    }
  }
}

data "aws_iam_policy_document" "deploy" {
  for_each = local.deploy_subjects

  statement {
    sid       = "StateObjectsOfThisDeploy"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = local.deploy_state_objects[each.key]
  }

  statement {
    sid       = "StateBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketVersioning", "s3:GetBucketLocation"]
    resources = [local.state_bucket_arn]
  }

  statement {
    sid       = "StateLocks"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable"]
    resources = [local.lock_table_arn]
  }

  statement {
    sid       = "StateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account}:key/*"]

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "kms:ResourceAliases"
      values   = [local.state_kms_alias]
    }
  }

  statement {
    #checkov:skip=CKV_AWS_111:Terraform creates VPCs, clusters, databases and distributions whose ARNs do not exist before the call, so the create actions cannot name resources; what they may touch is bounded by the Deny statements below (another environment's names and tags, the CI roles, long-lived credentials) and IAM writes by the <prefix> name statement.
    sid       = "ManageWhatTheRootsDeclare"
    actions   = concat(local.deploy_services, ["sts:GetCallerIdentity", "ssm:GetParameter", "ssm:GetParameters", "iam:Get*", "iam:List*"])
    resources = ["*"]
  }

  statement {
    sid     = "PlatformIamByName"
    actions = ["iam:*"]
    resources = [
      "arn:${local.partition}:iam::${local.account}:role/${var.name_prefix}*",
      "arn:${local.partition}:iam::${local.account}:policy/${var.name_prefix}*",
      "arn:${local.partition}:iam::${local.account}:instance-profile/${var.name_prefix}*",
      "arn:${local.partition}:iam::${local.account}:oidc-provider/oidc.eks.${local.region}.amazonaws.com/*",
      "arn:${local.partition}:iam::${local.account}:role/aws-service-role/*",
    ]
  }

  statement {
    sid       = "NothingNamedAfterAnotherEnvironment"
    effect    = "Deny"
    actions   = ["*"]
    resources = local.other_env_resources[each.key]
  }

  statement {
    sid       = "NothingTaggedForAnotherEnvironment"
    effect    = "Deny"
    actions   = ["*"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/environment"
      values   = local.other_envs[each.key]
    }
  }

  statement {
    sid       = "NothingCreatedForAnotherEnvironment"
    effect    = "Deny"
    actions   = ["*"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/environment"
      values   = local.other_envs[each.key]
    }
  }

  # CI cannot widen its own trust or rights: the GitHub roles and the OIDC provider are changed
  # by an administrator's `kyeol deploy` from a workstation, never by a workflow. Reads stay
  # allowed: a plan of envs/mgmt refreshes them.
  statement {
    sid         = "NotTheCiIdentity"
    effect      = "Deny"
    not_actions = ["iam:Get*", "iam:List*"]
    resources = [
      "arn:${local.partition}:iam::${local.account}:role/${var.name_prefix}*-github-*",
      "arn:${local.partition}:iam::${local.account}:oidc-provider/${local.issuer_host}",
    ]
  }

  statement {
    sid       = "NoLongLivedCredentials"
    effect    = "Deny"
    actions   = ["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "organizations:*", "account:*"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "deploy" {
  for_each = local.deploy_subjects

  name                 = "${var.name_prefix}${each.key}-github-deploy"
  description          = "GitHub Actions (${var.github_repository}, environment ${each.key}): kyeol deploy --env ${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.deploy_assume[each.key].json
  max_session_duration = 3600

  tags = merge(var.tags, { "kyeol.io/env" = each.key })
}

resource "aws_iam_role_policy" "deploy" {
  for_each = local.deploy_subjects

  name   = "kyeol-deploy"
  role   = aws_iam_role.deploy[each.key].id
  policy = data.aws_iam_policy_document.deploy[each.key].json
}
