################################################################################
# Generated values (ephemeral: never in plan or state)
################################################################################

# Django SECRET_KEY: 64 characters from Secrets Manager's GetRandomPassword.
ephemeral "aws_secretsmanager_random_password" "secret_key" {
  password_length = 64
  # Quotes and backslashes would need escaping wherever the value is templated.
  exclude_characters = "\"'\\`"
}

# Saleor's JWT signing key (RSA_PRIVATE_KEY). The AWS provider cannot make an RSA key, the
# tls_private_key *resource* would keep it in state; its ephemeral twin keeps it nowhere.
ephemeral "tls_private_key" "jwt" {
  algorithm = "RSA"
  rsa_bits  = var.rsa_bits
}

################################################################################
# Application Secret
################################################################################

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Saleor reads SECRET_KEY/RSA_PRIVATE_KEY at start-up and has no rotation hook; rotate by bumping secret_version, which writes a new version.
  name                    = "${var.name}-saleor-app"
  description             = "Saleor SECRET_KEY and RSA_PRIVATE_KEY (JWT signing) for ${var.name}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  secret_id = aws_secretsmanager_secret.this.id
  secret_string_wo = jsonencode({
    SECRET_KEY      = ephemeral.aws_secretsmanager_random_password.secret_key.random_password
    RSA_PRIVATE_KEY = ephemeral.tls_private_key.jwt.private_key_pem
  })
  secret_string_wo_version = var.secret_version
}
