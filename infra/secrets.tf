# The two secrets the containers read at start-up (ECS injects them as environment variables):
# RETAINWISE_SECRET signs report links; RETAINWISE_DATABASE_URL carries the run store's password.

resource "random_password" "link_secret" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "link_secret" {
  #checkov:skip=CKV2_AWS_57:Rotation is a planned procedure (infra/README.md "Rotate the secret"): a new key invalidates every signed report link, so it is rotated by apply + redeploy, not on a timer.
  name_prefix             = "${local.prefix}/link-secret-"
  description             = "RETAINWISE_SECRET: signs and verifies report links."
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "link_secret" {
  secret_id     = aws_secretsmanager_secret.link_secret.id
  secret_string = random_password.link_secret.result
}

# Letters and digits only, so the password needs no escaping inside the URL.
resource "random_password" "db" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "database_url" {
  #checkov:skip=CKV2_AWS_57:The secret is a full SQLAlchemy URL built by Terraform; rotate the password with infra/README.md "Rotate the secret" (apply + redeploy) rather than a rotation Lambda that would not rebuild the URL.
  name_prefix             = "${local.prefix}/database-url-"
  description             = "RETAINWISE_DATABASE_URL: the run store (PostgreSQL) connection URL."
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id = aws_secretsmanager_secret.database_url.id
  # sslmode=require: the parameter group refuses unencrypted connections (rds.force_ssl).
  secret_string = "postgresql+psycopg://${aws_db_instance.runs.username}:${random_password.db.result}@${aws_db_instance.runs.address}:${aws_db_instance.runs.port}/${aws_db_instance.runs.db_name}?sslmode=require"
}
