data "aws_partition" "current" {}

locals {
  identifier = "${var.name}-postgres"
  port       = 5432
  family     = "postgres${split(".", var.engine_version)[0]}"
  log_types  = ["postgresql", "upgrade"]
}

################################################################################
# Network
################################################################################

resource "aws_db_subnet_group" "this" {
  name        = local.identifier
  description = "Database subnets of ${local.identifier}"
  subnet_ids  = var.subnet_ids

  tags = merge(var.tags, { Name = local.identifier })
}

resource "aws_security_group" "this" {
  name        = local.identifier
  description = "PostgreSQL ${local.identifier}: 5432 from the EKS cluster only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = local.identifier })
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  for_each = toset(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from the EKS cluster security group"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = each.value

  tags = var.tags
}

################################################################################
# Parameter Group
################################################################################

resource "aws_db_parameter_group" "this" {
  name        = local.identifier
  family      = local.family
  description = "${local.identifier}: TLS only, DDL and slow statements logged"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  tags = merge(var.tags, { Name = local.identifier })

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Enhanced Monitoring
################################################################################

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    sid     = "RdsMonitoringAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${local.identifier}-monitoring"
  description        = "Enhanced Monitoring of ${local.identifier}"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

################################################################################
# Instance
################################################################################

# Made before the instance so RDS exports into groups with our retention and key (it would
# otherwise create them unencrypted and never expiring).
resource "aws_cloudwatch_log_group" "this" {
  for_each = toset(local.log_types)

  name              = "/aws/rds/instance/${local.identifier}/${each.key}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = "${local.identifier}-${each.key}" })
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is the multi_az input: runbook §3 makes DEV single-AZ and STAGE/PROD Multi-AZ.
  #checkov:skip=CKV_AWS_293:Deletion protection is the deletion_protection input: on for STAGE/PROD, off for the disposable DEV database.
  identifier     = local.identifier
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  multi_az       = var.multi_az

  db_name  = var.db_name
  username = var.username
  port     = local.port
  # RDS generates the master password and keeps it in Secrets Manager (never in Terraform state).
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  allow_major_version_upgrade         = false
  apply_immediately                   = false

  backup_retention_period   = var.backup_retention_period
  backup_window             = "17:00-18:00"
  maintenance_window        = "sun:18:30-sun:19:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = !var.deletion_protection
  final_snapshot_identifier = var.deletion_protection ? "${local.identifier}-final" : null
  delete_automated_backups  = !var.deletion_protection

  enabled_cloudwatch_logs_exports       = local.log_types
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn

  tags = merge(var.tags, { Name = local.identifier })

  depends_on = [aws_iam_role_policy_attachment.monitoring, aws_cloudwatch_log_group.this]
}

################################################################################
# Connection Secret
################################################################################

# A stable name the GitOps tree can reference (`<name>-saleor-db`): the RDS-managed secret is
# named `rds!db-<uuid>`, unknowable before apply. This secret holds the connection facts and the
# managed secret's ARN only: no password is copied, so none reaches Terraform state.
resource "aws_secretsmanager_secret" "connection" {
  #checkov:skip=CKV2_AWS_57:Holds no credential (host, port, names, an ARN); the password lives in the RDS-managed secret, which RDS rotates.
  name                    = "${var.name}-saleor-db"
  description             = "Saleor database connection facts; the password is in the RDS-managed secret named by master_secret_arn"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "connection" {
  secret_id = aws_secretsmanager_secret.connection.id
  secret_string = jsonencode({
    engine            = "postgres"
    host              = aws_db_instance.this.address
    port              = tostring(aws_db_instance.this.port)
    dbname            = var.db_name
    username          = var.username
    sslmode           = "require"
    master_secret_arn = aws_db_instance.this.master_user_secret[0].secret_arn
  })
}
