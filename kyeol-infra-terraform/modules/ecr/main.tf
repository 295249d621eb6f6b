data "aws_partition" "current" {}

locals {
  repositories  = toset(var.repository_names)
  pull_accounts = distinct(var.pull_account_ids)
  pull_roles    = coalesce(var.pull_role_name_pattern, "${var.name_prefix}*-eks-node")
}

################################################################################
# Repositories
################################################################################

resource "aws_ecr_repository" "this" {
  for_each = local.repositories

  name = each.value
  # A tag names one image forever: deploys are reproducible and the GitOps bump is the release.
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = merge(var.tags, { Name = each.value })
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after ${var.untagged_image_expiry_days} days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_image_expiry_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest ${var.max_tagged_images} tagged images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.max_tagged_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

################################################################################
# Cross-account pull
################################################################################

# The env accounts' node roles (`<prefix><env>-eks-node`) pull; nothing else from those accounts.
data "aws_iam_policy_document" "pull" {
  count = length(local.pull_accounts) > 0 ? 1 : 0

  statement {
    sid = "EnvironmentNodesPull"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]

    principals {
      type        = "AWS"
      identifiers = [for a in local.pull_accounts : "arn:${data.aws_partition.current.partition}:iam::${a}:root"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:PrincipalArn"
      values   = [for a in local.pull_accounts : "arn:${data.aws_partition.current.partition}:iam::${a}:role/${local.pull_roles}"]
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  for_each = { for k, r in aws_ecr_repository.this : k => r.name if length(local.pull_accounts) > 0 }

  repository = each.value
  policy     = data.aws_iam_policy_document.pull[0].json
}
