################################################################################
# Dedicated NAT Gateway
################################################################################

output "pg_nat_eip" {
  description = "Public IP every PG-bound request leaves from (give it to the payment gateway's allow-list)"
  value       = aws_eip.this.public_ip
}

output "nat_gateway_id" {
  description = "ID of the dedicated NAT gateway"
  value       = aws_nat_gateway.this.id
}

################################################################################
# Dedicated Private Subnets
################################################################################

output "subnet_ids" {
  description = "IDs of the dedicated private subnets"
  value       = [for az in var.azs : aws_subnet.this[az].id]
}

################################################################################
# Node Group
################################################################################

output "node_group_name" {
  description = "Name of the tainted PG egress node group"
  value       = aws_eks_node_group.this.node_group_name
}

output "node_taint" {
  description = "Taint of the PG egress nodes (`dedicated=pg-egress:NoSchedule`)"
  value       = "${local.taint.key}=${local.taint.value}:NoSchedule"
}

output "node_labels" {
  description = "Labels of the PG egress nodes"
  value       = local.label
}
