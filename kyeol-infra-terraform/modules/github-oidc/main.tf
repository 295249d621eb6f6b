data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  issuer_host = "token.actions.githubusercontent.com"

  provider_arn = var.create_provider ? aws_iam_openid_connect_provider.github[0].arn : "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${local.issuer_host}"

  owner = split("/", var.github_repository)[0]
  repo  = split("/", var.github_repository)[1]

  # Ref https://github.com/aws-actions/configure-aws-credentials#oidc (immutable subject claims)
  # The repository part of a subject: the legacy OWNER/REPO, and the immutable
  # OWNER@<owner id>/REPO@<repo id> when both ids are given (repos created from 2026-07-15).
  subject_repos = concat(
    [var.github_repository],
    var.github_owner_id != null && var.github_repository_id != null ? ["${local.owner}@${var.github_owner_id}/${local.repo}@${var.github_repository_id}"] : [],
  )
  subjects = [for r in local.subject_repos : "repo:${r}:ref:refs/heads/main"]
}

################################################################################
# GitHub OIDC provider
################################################################################

# No thumbprint: IAM validates GitHub's certificate itself ("no longer necessary … ignored").
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_provider ? 1 : 0

  url            = "https://${local.issuer_host}"
  client_id_list = ["sts.amazonaws.com"]

  tags = merge(var.tags, { Name = "${var.name_prefix}github-actions" })
}

################################################################################
# Role
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "GitHubActionsOnMain"
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

    # Exact subjects (no wildcard): only workflow runs on refs/heads/main of this repository.
    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:sub"
      values   = local.subjects
    }
  }
}

data "aws_iam_policy_document" "push" {
  statement {
    sid = "PushToTheSaleorRepositories"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:DescribeRepositories",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = var.ecr_repository_arns
  }

  statement {
    #checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken has no resource-level permissions (AWS requires Resource "*"); it only returns a registry login, the push rights above are per repository.
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  description          = "GitHub Actions (${var.github_repository}, main) pushes Saleor images to ECR"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy" "push" {
  name   = "ecr-push"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.push.json
}
