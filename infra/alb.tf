# The report server's public entry: an internet-facing ALB, HTTPS only (HTTP redirects).

resource "aws_lb" "reports" {
  #checkov:skip=CKV_AWS_91:ALB access logs cannot redact a query string and a report link's first request carries its token there; the web ACL's log (waf.tf) records every request with query string and cookie redacted.
  name                       = "${local.prefix}-reports"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  # Voila keeps a websocket to the report's kernel open between widget interactions.
  idle_timeout = 300

  # Off: a link's first request (/?run=R&token=T, before the server swaps the token for a cookie) would
  # put a valid bearer token into a log kept for a year, and access logs keep the whole query string.
  # Every request is still logged by the web ACL (waf.tf) with the query string and cookies redacted, and
  # the report server logs each refused request with its tokens scrubbed.
  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
    enabled = false
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_target_group" "reports" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; the tasks sit in private subnets and accept traffic only from the load balancer's security group.
  name                 = "${local.prefix}-reports"
  port                 = 8866
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  # The report server's health page: no token, no kernel (`/` refuses a request without a token: 403).
  health_check {
    path                = "/healthz"
    matcher             = "200"
    interval            = 30
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  # A report's kernel lives in one task: its page and websocket must reach the same task.
  stickiness {
    type            = "lb_cookie"
    cookie_duration = 86400
    enabled         = true
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.reports.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.reports.arn
  }
}

resource "aws_lb_listener" "http_redirect" {
  load_balancer_arn = aws_lb.reports.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}
