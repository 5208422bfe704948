# Security groups: the internet reaches only the load balancer; the load balancer reaches only
# Voila; only the two services reach the database; the tasks leave only over HTTPS (AWS APIs).

resource "aws_security_group" "alb" {
  name_prefix = "${local.prefix}-alb-"
  description = "RetainWise report load balancer"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.allowed_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS to the report server"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "alb_http_redirect" {
  #checkov:skip=CKV_AWS_260:Port 80 only answers with a redirect to HTTPS (alb.tf), so links typed without https:// still work.
  for_each          = toset(var.allowed_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTP, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_reports" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the Voila tasks"
  ip_protocol                  = "tcp"
  from_port                    = 8866
  to_port                      = 8866
  referenced_security_group_id = aws_security_group.reports.id
}

resource "aws_security_group" "reports" {
  name_prefix = "${local.prefix}-reports-"
  description = "RetainWise report server (Voila) tasks"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "reports_from_alb" {
  security_group_id            = aws_security_group.reports.id
  description                  = "From the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 8866
  to_port                      = 8866
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_security_group" "runner" {
  name_prefix = "${local.prefix}-runner-"
  description = "RetainWise runner tasks (no inbound traffic)"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

# Both services call AWS APIs (S3, SQS, ECR, Secrets Manager, Logs) over HTTPS through the
# private subnets' NAT gateway or VPC endpoints.
resource "aws_vpc_security_group_egress_rule" "https_out" {
  for_each          = { reports = aws_security_group.reports.id, runner = aws_security_group.runner.id }
  security_group_id = each.value
  description       = "HTTPS to AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "to_database" {
  for_each                     = { reports = aws_security_group.reports.id, runner = aws_security_group.runner.id }
  security_group_id            = each.value
  description                  = "To the run store"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_security_group" "database" {
  name_prefix = "${local.prefix}-db-"
  description = "RetainWise run store (PostgreSQL)"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "database_from_services" {
  for_each                     = { reports = aws_security_group.reports.id, runner = aws_security_group.runner.id }
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
}
