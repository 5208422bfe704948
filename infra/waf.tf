# A web ACL in front of the report load balancer: AWS managed rules against known-bad inputs
# (Log4Shell among them), bad-reputation and anonymising IPs and common exploits, plus a per-IP
# rate limit.
# Voila's kernel traffic is a websocket after the upgrade request, which WAF does not inspect;
# the body-size rule only counts, because widget state can be posted in larger requests.

resource "aws_wafv2_web_acl" "reports" {
  name        = "${local.prefix}-reports"
  description = "RetainWise report server"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  rule {
    name     = "known-bad-inputs"
    priority = 10
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "ip-reputation"
    priority = 20
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAmazonIpReputationList"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "ip-reputation"
      sampled_requests_enabled   = true
    }
  }

  # Anonymisers and Tor are blocked; cloud-hosting addresses (where corporate VPNs and proxies
  # often exit) are only counted, so a customer behind one can still open a report.
  rule {
    name     = "anonymous-ip"
    priority = 25
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAnonymousIpList"
        rule_action_override {
          name = "HostingProviderIPList"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "anonymous-ip"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "common"
    priority = 30
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
        rule_action_override {
          name = "SizeRestrictions_BODY"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 40
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit_per_5_minutes
        aggregate_key_type = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "rate-limit-per-ip"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${local.prefix}-reports"
    sampled_requests_enabled   = true
  }
}

resource "aws_wafv2_web_acl_association" "reports" {
  resource_arn = aws_lb.reports.arn
  web_acl_arn  = aws_wafv2_web_acl.reports.arn
}

# WAF requires log group names starting with aws-waf-logs-.
resource "aws_cloudwatch_log_group" "waf" {
  name              = "aws-waf-logs-${local.prefix}-reports"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_wafv2_web_acl_logging_configuration" "reports" {
  resource_arn            = aws_wafv2_web_acl.reports.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  # Signed report links carry their token in the query string or a cookie: keep them out of logs.
  redacted_fields {
    query_string {}
  }
  redacted_fields {
    single_header {
      name = "cookie"
    }
  }
}
