################################################################################
# Launch Template
################################################################################

# Shared by every managed node group of the cluster (the prod PG egress group included).
resource "aws_launch_template" "node" {
  name                   = "${var.name}-node"
  description            = "Nodes of ${var.name}: IMDSv2 only, encrypted gp3 root volume"
  update_default_version = true

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
    # 1 hop: pods cannot reach the node's credentials; add-ons get region/VPC from values and use IRSA.
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.node_disk_size
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name}-node" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = "${var.name}-node" })
  }

  tags = var.tags
}

################################################################################
# Managed Node Group
################################################################################

resource "aws_eks_node_group" "default" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "${var.name}-default"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.subnet_ids

  ami_type       = "AL2023_x86_64_STANDARD"
  capacity_type  = "ON_DEMAND"
  instance_types = [var.node_instance_type]

  scaling_config {
    min_size     = var.node_min_size
    max_size     = var.node_max_size
    desired_size = var.node_desired_size
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.node.id
    version = aws_launch_template.node.latest_version
  }

  labels = {
    "kyeol.io/node-group" = "default"
  }

  # Cluster Autoscaler's auto-discovery keys (kubernetes/autoscaler cloudprovider/aws/README.md);
  # EKS also puts them on the group's ASG, which is where the autoscaler and its IAM
  # conditions (modules/irsa) read them.
  tags = merge(var.tags, {
    Name                                    = "${var.name}-default"
    "k8s.io/cluster-autoscaler/enabled"     = "true"
    "k8s.io/cluster-autoscaler/${var.name}" = "owned"
  })

  lifecycle {
    # Cluster Autoscaler owns the size between min and max; Terraform only sets it at creation.
    ignore_changes = [scaling_config[0].desired_size]
  }

  # vpc-cni must be configured (prefix delegation) before the first node joins: the node's
  # max-pods is computed at launch, and without a CNI nodes never become Ready.
  depends_on = [
    aws_iam_role_policy_attachment.node,
    aws_eks_addon.before_nodes,
  ]
}
