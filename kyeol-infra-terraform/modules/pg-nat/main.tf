locals {
  subnets = { for i, az in var.azs : az => var.subnet_cidrs[i] }

  # Workloads that call payment gateways tolerate this taint and select this label
  # (prod overlay); everything else stays off these nodes.
  taint = { key = "dedicated", value = "pg-egress", effect = "NO_SCHEDULE" }
  label = { "kyeol.io/egress" = "pg" }
}

################################################################################
# Dedicated NAT Gateway
################################################################################

# The payment gateway allow-lists this address: it must survive any rebuild of the VPC or NAT.
resource "aws_eip" "this" {
  domain = "vpc"

  tags = merge(var.tags, { Name = "${var.name}-pg-nat" })

  # An EIP in a VPC whose internet gateway is not attached yet fails (Gateway.NotAttached).
  depends_on = [var.internet_gateway_id]

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_nat_gateway" "this" {
  allocation_id = aws_eip.this.id
  subnet_id     = var.public_subnet_id

  tags = merge(var.tags, { Name = "${var.name}-pg-nat" })

  # Like the VPC's own NAT gateways: a public NAT needs the attached internet gateway.
  depends_on = [var.internet_gateway_id]
}

################################################################################
# Dedicated Private Subnets
################################################################################

resource "aws_subnet" "this" {
  for_each = local.subnets

  vpc_id            = var.vpc_id
  cidr_block        = each.value
  availability_zone = each.key

  # No load-balancer role tags: ALBs never land here.
  tags = merge(var.tags, {
    Name                                        = "${var.name}-pg-${each.key}"
    "kubernetes.io/cluster/${var.cluster_name}" = "shared"
    "kyeol.io/egress"                           = "pg"
  })
}

resource "aws_route_table" "this" {
  vpc_id = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-pg" })
}

resource "aws_route" "internet" {
  route_table_id         = aws_route_table.this.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this.id
}

resource "aws_route_table_association" "this" {
  for_each = aws_subnet.this

  subnet_id      = each.value.id
  route_table_id = aws_route_table.this.id
}

################################################################################
# Node Group
################################################################################

resource "aws_eks_node_group" "this" {
  cluster_name    = var.cluster_name
  node_group_name = "${var.name}-pg-egress"
  node_role_arn   = var.node_role_arn
  subnet_ids      = [for az in var.azs : aws_subnet.this[az].id]

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
    id      = var.launch_template_id
    version = var.launch_template_version
  }

  taint {
    key    = local.taint.key
    value  = local.taint.value
    effect = local.taint.effect
  }

  labels = local.label

  # Cluster Autoscaler's auto-discovery keys, as on the default group (modules/eks).
  tags = merge(var.tags, {
    Name                                            = "${var.name}-pg-egress"
    "k8s.io/cluster-autoscaler/enabled"             = "true"
    "k8s.io/cluster-autoscaler/${var.cluster_name}" = "owned"
  })

  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  # Nodes need their route out before they boot (image pulls, joining the cluster), and the
  # vpc-cni add-on configured (prefix delegation, network policy agent) like the default group.
  depends_on = [aws_route.internet, aws_route_table_association.this, var.vpc_cni_addon_id]
}
