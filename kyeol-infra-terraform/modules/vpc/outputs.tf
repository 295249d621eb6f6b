################################################################################
# VPC
################################################################################

output "vpc_id" {
  description = "ID of the VPC"
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC"
  value       = aws_vpc.this.cidr_block
}

output "azs" {
  description = "Availability zones of the subnets, in order"
  value       = var.azs
}

################################################################################
# Subnets
################################################################################

output "public_subnet_ids" {
  description = "IDs of the public subnets, in `azs` order"
  value       = [for az in var.azs : aws_subnet.public[az].id]
}

output "public_subnet_ids_by_az" {
  description = "Map of AZ to public subnet ID"
  value       = { for az, s in aws_subnet.public : az => s.id }
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, in `azs` order"
  value       = [for az in var.azs : aws_subnet.private[az].id]
}

output "database_subnet_ids" {
  description = "IDs of the database subnets, in `azs` order"
  value       = [for az in var.azs : aws_subnet.database[az].id]
}

################################################################################
# NAT Gateway
################################################################################

output "nat_public_ips" {
  description = "Public IPs of the NAT gateways (the addresses this VPC's workloads reach the internet from)"
  value       = [for az in local.nat_azs : aws_eip.nat[az].public_ip]
}

output "internet_gateway_id" {
  description = "ID of the internet gateway"
  value       = aws_internet_gateway.this.id
}

################################################################################
# Flow Log
################################################################################

output "flow_log_group_name" {
  description = "CloudWatch log group holding the VPC flow logs"
  value       = aws_cloudwatch_log_group.flow_log.name
}
