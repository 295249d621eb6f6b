locals {
  # t3.medium has 3 ENIs x 6 IPs = 17 pods without prefix delegation; with /28 prefixes the
  # managed node group sets max-pods to 110 (Ref: eni-max-pods.txt, EKS best practices).
  # enableNetworkPolicy runs the VPC CNI's network policy agent on every node: without it the
  # NetworkPolicies the GitOps trees ship (Saleor's default deny) are accepted by the API server
  # and silently not enforced.
  vpc_cni_configuration = jsonencode({
    enableNetworkPolicy = "true"
    env = {
      ENABLE_PREFIX_DELEGATION = "true"
      WARM_PREFIX_TARGET       = "1"
    }
  })

  # Ref https://github.com/terraform-aws-modules/terraform-aws-eks/issues/3570 (CNI first) and
  # https://github.com/terraform-aws-modules/terraform-aws-eks/issues/3001 (coredns needs nodes).
  addons_before_nodes = {
    vpc-cni = { configuration_values = local.vpc_cni_configuration }
  }
  addons_after_nodes = {
    kube-proxy = { configuration_values = null }
    coredns    = { configuration_values = null }
  }
}

################################################################################
# Add-ons
################################################################################

resource "aws_eks_addon" "before_nodes" {
  for_each = local.addons_before_nodes

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  addon_version               = lookup(var.addon_versions, each.key, null)
  configuration_values        = each.value.configuration_values
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  tags = var.tags
}

resource "aws_eks_addon" "after_nodes" {
  for_each = local.addons_after_nodes

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  addon_version               = lookup(var.addon_versions, each.key, null)
  configuration_values        = each.value.configuration_values
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  tags = var.tags

  depends_on = [aws_eks_node_group.default]
}
