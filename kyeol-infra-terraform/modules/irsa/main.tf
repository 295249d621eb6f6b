data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  env_prefix = "${var.name_prefix}${var.environment}"

  # Namespaces and service accounts (steps/wiring/config.py: SERVICE_ACCOUNTS, ARGOCD_SERVICE_ACCOUNTS).
  service_accounts = {
    lbc              = ["system:serviceaccount:kube-system:aws-load-balancer-controller"]
    external_dns     = ["system:serviceaccount:external-dns:external-dns"]
    external_secrets = ["system:serviceaccount:external-secrets:external-secrets"]
    # The chart's `rbac.serviceAccount.name` (kyeol-platform-gitops clusters/<env>/cluster-autoscaler-values.yaml).
    cluster_autoscaler = ["system:serviceaccount:kube-system:cluster-autoscaler"]
    # Saleor's api and worker (the beat shares the worker's account): they write media.
    saleor = [
      "system:serviceaccount:saleor:saleor-api",
      "system:serviceaccount:saleor:saleor-worker",
    ]
    argocd_manager = [
      "system:serviceaccount:argocd:argocd-application-controller",
      "system:serviceaccount:argocd:argocd-applicationset-controller",
      "system:serviceaccount:argocd:argocd-server",
    ]
  }

  irsa_roles = {
    lbc                = var.create_lbc_role
    external_dns       = var.create_external_dns_role
    external_secrets   = var.create_external_secrets_role
    cluster_autoscaler = var.create_cluster_autoscaler_role
    saleor             = var.create_saleor_role
    argocd_manager     = var.create_argocd_manager_role
  }

  argocd_manager_role_name = "${var.name_prefix}mgmt-argocd-manager"
  argocd_manager_role_arn  = var.argocd_manager_account_id == null ? null : "arn:${local.partition}:iam::${var.argocd_manager_account_id}:role/${local.argocd_manager_role_name}"
}

################################################################################
# IRSA trust (one policy per service-account role)
################################################################################

data "aws_iam_policy_document" "irsa_assume" {
  for_each = { for k, enabled in local.irsa_roles : k => local.service_accounts[k] if enabled }

  statement {
    sid     = "ServiceAccountsOfThisCluster"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider}:sub"
      values   = each.value
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }

  lifecycle {
    precondition {
      condition     = var.oidc_provider_arn != null && var.oidc_provider != null
      error_message = "Service-account roles need oidc_provider_arn and oidc_provider."
    }
  }
}

################################################################################
# AWS Load Balancer Controller
################################################################################

# The controller's published policy (kubernetes-sigs/aws-load-balancer-controller
# docs/install/iam_policy.json, v3.5.0), in HCL and unchanged so upgrades stay a diff against
# upstream. Creates have no ARN to scope to before the resource exists; deleting or modifying
# security groups, load balancers and target groups needs the controller's
# `elbv2.k8s.aws/cluster` tag. Listener and rule edits are unconditioned upstream (listeners
# carry no such tag); no action is a wildcard.
data "aws_iam_policy_document" "lbc" {
  count = var.create_lbc_role ? 1 : 0

  #checkov:skip=CKV_AWS_109:Upstream controller policy: iam:CreateServiceLinkedRole is limited to the ELB service-linked role, and security-group ingress edits are how the controller opens node/pod ports to its load balancers.
  #checkov:skip=CKV_AWS_111:Upstream controller policy: creates (security groups, load balancers, target groups, listeners, rules) have no ARN before they exist; deletes/modifies of SGs, LBs and TGs need the controller's cluster tag.
  #checkov:skip=CKV_AWS_356:Upstream controller policy: Describe/Get calls and creates do not support resource-level permissions; tag conditions constrain the mutations that do.
  statement {
    sid       = "CreateElbServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid = "Describe"
    actions = [
      "ec2:DescribeAccountAttributes",
      "ec2:DescribeAddresses",
      "ec2:DescribeAvailabilityZones",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeVpcs",
      "ec2:DescribeVpcPeeringConnections",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeInstances",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeTags",
      "ec2:GetCoipPoolUsage",
      "ec2:DescribeCoipPools",
      "ec2:GetSecurityGroupsForVpc",
      "ec2:DescribeIpamPools",
      "ec2:DescribeRouteTables",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeListenerCertificates",
      "elasticloadbalancing:DescribeSSLPolicies",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTrustStores",
      "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeCapacityReservation",
    ]
    resources = ["*"]
  }

  statement {
    sid = "CertificatesWafShield"
    actions = [
      "cognito-idp:DescribeUserPoolClient",
      "acm:ListCertificates",
      "acm:DescribeCertificate",
      "iam:ListServerCertificates",
      "iam:GetServerCertificate",
      "waf-regional:GetWebACL",
      "waf-regional:GetWebACLForResource",
      "waf-regional:AssociateWebACL",
      "waf-regional:DisassociateWebACL",
      "wafv2:GetWebACL",
      "wafv2:GetWebACLForResource",
      "wafv2:AssociateWebACL",
      "wafv2:DisassociateWebACL",
      "shield:GetSubscriptionState",
      "shield:DescribeProtection",
      "shield:CreateProtection",
      "shield:DeleteProtection",
    ]
    resources = ["*"]
  }

  statement {
    sid = "SecurityGroupIngress"
    actions = [
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupIngress",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "CreateSecurityGroup"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["*"]
  }

  statement {
    sid       = "TagNewSecurityGroups"
    actions   = ["ec2:CreateTags"]
    resources = ["arn:${local.partition}:ec2:*:*:security-group/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateSecurityGroup"]
    }

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "TagOwnedSecurityGroups"
    actions = [
      "ec2:CreateTags",
      "ec2:DeleteTags",
    ]
    resources = ["arn:${local.partition}:ec2:*:*:security-group/*"]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["true"]
    }

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "ManageOwnedSecurityGroups"
    actions = [
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:DeleteSecurityGroup",
    ]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "CreateLoadBalancersAndTargetGroups"
    actions = [
      "elasticloadbalancing:CreateLoadBalancer",
      "elasticloadbalancing:CreateTargetGroup",
    ]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "ManageListenersAndRules"
    actions = [
      "elasticloadbalancing:CreateListener",
      "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:CreateRule",
      "elasticloadbalancing:DeleteRule",
    ]
    resources = ["*"]
  }

  statement {
    sid = "TagOwnedLoadBalancers"
    actions = [
      "elasticloadbalancing:AddTags",
      "elasticloadbalancing:RemoveTags",
    ]
    resources = [
      "arn:${local.partition}:elasticloadbalancing:*:*:targetgroup/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:loadbalancer/net/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:loadbalancer/app/*/*",
    ]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["true"]
    }

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "TagListenersAndRules"
    actions = [
      "elasticloadbalancing:AddTags",
      "elasticloadbalancing:RemoveTags",
    ]
    resources = [
      "arn:${local.partition}:elasticloadbalancing:*:*:listener/net/*/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:listener/app/*/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:listener-rule/app/*/*/*",
    ]
  }

  statement {
    sid = "ModifyOwnedLoadBalancers"
    actions = [
      "elasticloadbalancing:ModifyLoadBalancerAttributes",
      "elasticloadbalancing:SetIpAddressType",
      "elasticloadbalancing:SetSecurityGroups",
      "elasticloadbalancing:SetSubnets",
      "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyListenerAttributes",
      "elasticloadbalancing:ModifyCapacityReservation",
      "elasticloadbalancing:ModifyIpPools",
    ]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid     = "TagOnCreate"
    actions = ["elasticloadbalancing:AddTags"]
    resources = [
      "arn:${local.partition}:elasticloadbalancing:*:*:targetgroup/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:loadbalancer/net/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:loadbalancer/app/*/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "elasticloadbalancing:CreateAction"
      values   = ["CreateTargetGroup", "CreateLoadBalancer"]
    }

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "RegisterTargets"
    actions = [
      "elasticloadbalancing:RegisterTargets",
      "elasticloadbalancing:DeregisterTargets",
    ]
    resources = ["arn:${local.partition}:elasticloadbalancing:*:*:targetgroup/*/*"]
  }

  statement {
    sid = "ModifyListenersAndRules"
    actions = [
      "elasticloadbalancing:SetWebAcl",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:AddListenerCertificates",
      "elasticloadbalancing:RemoveListenerCertificates",
      "elasticloadbalancing:ModifyRule",
      "elasticloadbalancing:SetRulePriorities",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role" "lbc" {
  count = var.create_lbc_role ? 1 : 0

  name               = "${local.env_prefix}-lbc"
  description        = "AWS Load Balancer Controller of ${local.env_prefix}-eks (IRSA)"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume["lbc"].json

  tags = var.tags
}

resource "aws_iam_role_policy" "lbc" {
  count = var.create_lbc_role ? 1 : 0

  name   = "aws-load-balancer-controller"
  role   = aws_iam_role.lbc[0].id
  policy = data.aws_iam_policy_document.lbc[0].json
}

################################################################################
# ExternalDNS
################################################################################

# Only the one hosted zone; listing zones has no resource scope. Changes are limited to this
# env's origin names and their TXT registry names, record types A/AAAA/CNAME/TXT: a compromised
# cluster cannot rewrite another env's records, the viewer aliases or the ACM validation records.
#
# Registry names: ExternalDNS v0.21.0 with no txt-prefix/txt-suffix (clusters/<env>/
# external-dns-values.yaml) writes only the new-format TXT record, `<type>-<first label>.<rest>`
# with the type lowercased, and an alias A record counted as "cname"
# (kubernetes-sigs/external-dns@v0.21.0 registry/mapper/mapper.go AffixNameMapper.ToTXTName,
# registry/txt/registry.go generateTXTRecordWithFilter). Route 53 compares normalized names:
# lowercase, no trailing dot (Route 53 developer guide, "Using IAM policy conditions for
# fine-grained access control to manage resource record sets").
locals {
  external_dns_registry_names = flatten([
    for name in var.external_dns_record_names : [
      for type in ["a", "aaaa", "cname"] : "${type}-${name}"
    ]
  ])
  external_dns_names = concat(var.external_dns_record_names, local.external_dns_registry_names)
}

data "aws_iam_policy_document" "external_dns" {
  count = var.create_external_dns_role ? 1 : 0

  statement {
    sid       = "ChangeOnlyThisEnvsOriginRecords"
    actions   = ["route53:ChangeResourceRecordSets"]
    resources = ["arn:${local.partition}:route53:::hostedzone/${var.external_dns_hosted_zone_id}"]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
      values   = local.external_dns_names
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "route53:ChangeResourceRecordSetsRecordTypes"
      values   = ["A", "AAAA", "CNAME", "TXT"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "route53:ChangeResourceRecordSetsActions"
      values   = ["CREATE", "UPSERT", "DELETE"]
    }
  }

  statement {
    sid = "ReadTheZone"
    actions = [
      "route53:ListResourceRecordSets",
      "route53:ListTagsForResources",
    ]
    resources = ["arn:${local.partition}:route53:::hostedzone/${var.external_dns_hosted_zone_id}"]
  }

  statement {
    #checkov:skip=CKV_AWS_356:route53:ListHostedZones does not support resource-level permissions.
    sid       = "FindTheZone"
    actions   = ["route53:ListHostedZones"]
    resources = ["*"]
  }

  lifecycle {
    precondition {
      condition     = var.external_dns_hosted_zone_id != null
      error_message = "create_external_dns_role needs external_dns_hosted_zone_id."
    }

    precondition {
      condition     = length(var.external_dns_record_names) > 0
      error_message = "create_external_dns_role needs external_dns_record_names (the env's origin-* names): without them ExternalDNS could change any record of the zone."
    }
  }
}

resource "aws_iam_role" "external_dns" {
  count = var.create_external_dns_role ? 1 : 0

  name               = "${local.env_prefix}-external-dns"
  description        = "ExternalDNS of ${local.env_prefix}-eks: origin records in one hosted zone (IRSA)"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume["external_dns"].json

  tags = var.tags
}

resource "aws_iam_role_policy" "external_dns" {
  count = var.create_external_dns_role ? 1 : 0

  name   = "external-dns"
  role   = aws_iam_role.external_dns[0].id
  policy = data.aws_iam_policy_document.external_dns[0].json
}

################################################################################
# External Secrets
################################################################################

data "aws_iam_policy_document" "external_secrets" {
  count = var.create_external_secrets_role ? 1 : 0

  statement {
    sid = "ReadThisEnvironmentsSecrets"
    actions = [
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetResourcePolicy",
      "secretsmanager:GetSecretValue",
      "secretsmanager:ListSecretVersionIds",
    ]
    resources = concat(
      ["arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.env_prefix}-*"],
      var.external_secrets_extra_secret_arns,
    )
  }

  statement {
    sid       = "DecryptThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [var.external_secrets_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  lifecycle {
    precondition {
      condition     = var.external_secrets_kms_key_arn != null
      error_message = "create_external_secrets_role needs external_secrets_kms_key_arn."
    }
  }
}

resource "aws_iam_role" "external_secrets" {
  count = var.create_external_secrets_role ? 1 : 0

  name               = "${local.env_prefix}-external-secrets"
  description        = "External Secrets of ${local.env_prefix}-eks: reads ${local.env_prefix}-* secrets (IRSA)"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume["external_secrets"].json

  tags = var.tags
}

resource "aws_iam_role_policy" "external_secrets" {
  count = var.create_external_secrets_role ? 1 : 0

  name   = "read-env-secrets"
  role   = aws_iam_role.external_secrets[0].id
  policy = data.aws_iam_policy_document.external_secrets[0].json
}

################################################################################
# Cluster Autoscaler
################################################################################

# The "full features" policy of kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/
# README.md (chart 9.59.0), narrowed as it recommends: the two calls that change capacity only
# on ASGs tagged as this cluster's (EKS tags every managed node group's ASG
# `k8s.io/cluster-autoscaler/<cluster>=owned`), and eks:DescribeNodegroup only on this
# cluster's node groups. The Describe calls have no resource-level permissions.
data "aws_iam_policy_document" "cluster_autoscaler" {
  count = var.create_cluster_autoscaler_role ? 1 : 0

  statement {
    #checkov:skip=CKV_AWS_356:Auto Scaling and EC2 Describe calls do not support resource-level permissions; they read the ASGs and instance types the autoscaler simulates.
    sid = "DiscoverGroups"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "DescribeThisClustersNodeGroups"
    actions   = ["eks:DescribeNodegroup"]
    resources = ["arn:${local.partition}:eks:${local.region}:${local.account_id}:nodegroup/${var.cluster_autoscaler_cluster_name}/*/*"]
  }

  statement {
    sid = "ScaleThisClustersGroups"
    actions = [
      "autoscaling:SetDesiredCapacity",
      "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]
    resources = ["arn:${local.partition}:autoscaling:${local.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.cluster_autoscaler_cluster_name}"
      values   = ["owned"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled"
      values   = ["true"]
    }
  }

  lifecycle {
    precondition {
      condition     = var.cluster_autoscaler_cluster_name != null
      error_message = "create_cluster_autoscaler_role needs cluster_autoscaler_cluster_name."
    }
  }
}

resource "aws_iam_role" "cluster_autoscaler" {
  count = var.create_cluster_autoscaler_role ? 1 : 0

  name               = "${local.env_prefix}-cluster-autoscaler"
  description        = "Cluster Autoscaler of ${local.env_prefix}-eks: the desired size of its node groups (IRSA)"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume["cluster_autoscaler"].json

  tags = var.tags
}

resource "aws_iam_role_policy" "cluster_autoscaler" {
  count = var.create_cluster_autoscaler_role ? 1 : 0

  name   = "cluster-autoscaler"
  role   = aws_iam_role.cluster_autoscaler[0].id
  policy = data.aws_iam_policy_document.cluster_autoscaler[0].json
}

################################################################################
# Saleor (media storage)
################################################################################

# Saleor's S3MediaStorage (django-storages, default boto3 credential chain → IRSA) reads,
# writes and deletes objects under the media prefix only; listing is limited to that prefix.
# No ACL or bucket-level write: the bucket enforces owner ownership and Saleor sends no ACL.
data "aws_iam_policy_document" "saleor" {
  count = var.create_saleor_role ? 1 : 0

  statement {
    sid       = "MediaObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.saleor_media_bucket_arn}/${var.saleor_media_key_prefix}/*"]
  }

  statement {
    sid       = "ListMediaPrefix"
    actions   = ["s3:ListBucket"]
    resources = [var.saleor_media_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.saleor_media_key_prefix}/*"]
    }
  }

  lifecycle {
    precondition {
      condition     = var.saleor_media_bucket_arn != null
      error_message = "create_saleor_role needs saleor_media_bucket_arn."
    }
  }
}

resource "aws_iam_role" "saleor" {
  count = var.create_saleor_role ? 1 : 0

  name               = "${local.env_prefix}-saleor"
  description        = "Saleor api and worker of ${local.env_prefix}-eks: media and private objects in S3 (IRSA)"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume["saleor"].json

  tags = var.tags
}

resource "aws_iam_role_policy" "saleor" {
  count = var.create_saleor_role ? 1 : 0

  name   = "media-objects"
  role   = aws_iam_role.saleor[0].id
  policy = data.aws_iam_policy_document.saleor[0].json
}

# Saleor's S3MediaPrivateStorage (webhook payloads; modules/saleor-private-media): the same
# object actions under the same prefix (private storage shares AWS_LOCATION) in the private
# bucket, and the env key only as S3 uses it for that bucket (SSE-KMS with a bucket key: the
# encryption context is the bucket ARN).
data "aws_iam_policy_document" "saleor_private" {
  count = var.create_saleor_role ? 1 : 0

  statement {
    sid       = "PrivateObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.saleor_private_bucket_arn}/${var.saleor_media_key_prefix}/*"]
  }

  statement {
    sid       = "ListPrivatePrefix"
    actions   = ["s3:ListBucket"]
    resources = [var.saleor_private_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.saleor_media_key_prefix}/*"]
    }
  }

  statement {
    sid       = "PrivateObjectsKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.saleor_private_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [var.saleor_private_bucket_arn]
    }
  }

  lifecycle {
    precondition {
      condition     = var.saleor_private_bucket_arn != null && var.saleor_private_kms_key_arn != null
      error_message = "create_saleor_role needs saleor_private_bucket_arn and saleor_private_kms_key_arn."
    }
  }
}

resource "aws_iam_role_policy" "saleor_private" {
  count = var.create_saleor_role ? 1 : 0

  name   = "private-objects"
  role   = aws_iam_role.saleor[0].id
  policy = data.aws_iam_policy_document.saleor_private[0].json
}

################################################################################
# Argo CD management role (MGMT)
################################################################################

# Argo CD's awsAuthConfig: the three Argo CD service accounts assume this role, which in turn
# assumes each target cluster's deployer role.
data "aws_iam_policy_document" "argocd_manager" {
  count = var.create_argocd_manager_role ? 1 : 0

  # Exactly the deployer role of each configured env, in that env's account: no account or
  # env wildcard.
  statement {
    sid     = "AssumeClusterDeployerRoles"
    actions = ["sts:AssumeRole"]
    resources = [
      for env, account in var.argocd_target_accounts :
      "arn:${local.partition}:iam::${account}:role/${var.name_prefix}${env}-argocd-deployer"
    ]
  }

  lifecycle {
    precondition {
      condition     = var.environment == "mgmt"
      error_message = "The Argo CD management role lives in MGMT only."
    }

    precondition {
      condition     = length(var.argocd_target_accounts) > 0
      error_message = "create_argocd_manager_role needs argocd_target_accounts (env => account id of each env Argo CD deploys to)."
    }
  }
}

resource "aws_iam_role" "argocd_manager" {
  count = var.create_argocd_manager_role ? 1 : 0

  name               = local.argocd_manager_role_name
  description        = "Argo CD on ${local.env_prefix}-eks: assumes the per-cluster deployer roles (IRSA)"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume["argocd_manager"].json

  tags = var.tags
}

resource "aws_iam_role_policy" "argocd_manager" {
  count = var.create_argocd_manager_role ? 1 : 0

  name   = "assume-deployer-roles"
  role   = aws_iam_role.argocd_manager[0].id
  policy = data.aws_iam_policy_document.argocd_manager[0].json
}

################################################################################
# Argo CD deployer role (target clusters)
################################################################################

# Trusts the MGMT account root, narrowed to the manager role by aws:PrincipalArn: unlike a
# role ARN principal, this can be created before the manager role exists (MGMT ∥ env applies).
# It has no IAM permissions; its power is the EKS access entry on this env's cluster.
data "aws_iam_policy_document" "argocd_deployer_assume" {
  count = var.create_argocd_deployer_role ? 1 : 0

  statement {
    sid     = "ArgoCdManagerOnly"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${var.argocd_manager_account_id}:root"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = [local.argocd_manager_role_arn]
    }
  }

  lifecycle {
    precondition {
      condition     = var.argocd_manager_account_id != null && var.environment != "mgmt"
      error_message = "The deployer role is for dev/stage/prod and needs argocd_manager_account_id."
    }
  }
}

resource "aws_iam_role" "argocd_deployer" {
  count = var.create_argocd_deployer_role ? 1 : 0

  name               = "${local.env_prefix}-argocd-deployer"
  description        = "Argo CD (MGMT) deploys to ${local.env_prefix}-eks through this role's EKS access entry"
  assume_role_policy = data.aws_iam_policy_document.argocd_deployer_assume[0].json

  tags = var.tags
}
