################################################################################
# Cluster
################################################################################

output "cluster_name" {
  description = "Name of the EKS cluster"
  value       = aws_eks_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the EKS cluster"
  value       = aws_eks_cluster.this.arn
}

output "cluster_endpoint" {
  description = "HTTPS endpoint of the Kubernetes API"
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the Kubernetes API"
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_security_group_id" {
  description = "Cluster security group EKS attaches to the control plane and every managed node (pods use it too)"
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

################################################################################
# IRSA (IAM OIDC provider)
################################################################################

output "cluster_oidc_issuer_url" {
  description = "OIDC issuer URL of the cluster"
  value       = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider IRSA roles trust"
  value       = aws_iam_openid_connect_provider.this.arn
}

output "oidc_provider" {
  description = "The issuer without `https://`: the prefix of the `:sub`/`:aud` condition keys"
  value       = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")
}

################################################################################
# Node Group
################################################################################

output "node_role_arn" {
  description = "IAM role of the managed nodes (available once its managed policies are attached)"
  value       = aws_iam_role.node.arn

  # Node groups made elsewhere with this role (prod's PG egress group) must not boot nodes
  # before the role can join the cluster and pull images.
  depends_on = [aws_iam_role_policy_attachment.node]
}

output "vpc_cni_addon_id" {
  description = "The vpc-cni add-on (created before any node): other node groups of this cluster wait for it"
  value       = aws_eks_addon.before_nodes["vpc-cni"].id
}

output "node_launch_template_id" {
  description = "Launch template (IMDSv2, encrypted root volume) other node groups of this cluster reuse"
  value       = aws_launch_template.node.id
}

output "node_launch_template_version" {
  description = "Latest version of the node launch template"
  value       = aws_launch_template.node.latest_version
}

output "node_group_name" {
  description = "Name of the default managed node group"
  value       = aws_eks_node_group.default.node_group_name
}
