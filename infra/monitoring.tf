# Logs and the alarms that page someone: a dead-lettered upload, uploads waiting too long,
# failed runs, and report tasks the load balancer considers unhealthy.

resource "aws_cloudwatch_log_group" "runner" {
  name              = "/ecs/${local.prefix}/runner"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_cloudwatch_log_group" "reports" {
  name              = "/ecs/${local.prefix}/reports"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

# Created before the database so RDS log exports land in groups with retention and encryption.
resource "aws_cloudwatch_log_group" "rds" {
  for_each          = toset(["postgresql", "upgrade"])
  name              = "/aws/rds/instance/${local.prefix}-runs/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_sns_topic" "alarms" {
  name              = "${local.prefix}-alarms"
  kms_master_key_id = aws_kms_key.data.arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${local.prefix}-dead-letters"
  alarm_description   = "An upload failed three deliveries and sits in the dead-letter queue (see infra/README.md: redrive)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  alarm_name          = "${local.prefix}-oldest-upload-waiting"
  alarm_description   = "An upload has waited more than ${var.oldest_message_alarm_seconds} s: runners are stuck, failing or at runner_max_count."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.jobs.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.oldest_message_alarm_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# The runner logs one JSON object per line (runner/log.py): {"ts", "level", "event", ...}.
# A failed run is event "run_failed"; anything logged at level error counts too.
resource "aws_cloudwatch_log_metric_filter" "runner_errors" {
  name           = "${local.prefix}-runner-errors"
  log_group_name = aws_cloudwatch_log_group.runner.name
  pattern        = "{ ($.event = \"run_failed\") || ($.level = \"error\") || ($.level = \"ERROR\") }"

  metric_transformation {
    name          = "RunnerErrors"
    namespace     = "RetainWise/${local.prefix}"
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "runner_errors" {
  alarm_name          = "${local.prefix}-runner-errors"
  alarm_description   = "The runner logged a failed run or an error (search the runner log group for run_failed)."
  namespace           = "RetainWise/${local.prefix}"
  metric_name         = "RunnerErrors"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  depends_on = [aws_cloudwatch_log_metric_filter.runner_errors]
}

resource "aws_cloudwatch_metric_alarm" "reports_unhealthy" {
  alarm_name          = "${local.prefix}-reports-unhealthy"
  alarm_description   = "The load balancer sees an unhealthy report server task."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = { LoadBalancer = aws_lb.reports.arn_suffix, TargetGroup = aws_lb_target_group.reports.arn_suffix }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# --- Metrics the services write, and the alarms on security events and failed runs ---------------
# The runner's own event lines are CloudWatch embedded-metric-format records (runner/metrics.py):
# RunsCompleted, RunsFailed, RunDuration, RowsScored, QueueWait, RunRetries, MessagesRejected and
# MessagesDeadLettered, namespace "RetainWise", dimension Service = runner. The report server writes
# PagesServed, PagesRefused, KernelsStarted, KernelsCulled and RenderTime (Service = reports) once a
# minute (retainwise/reports/metrics.py). CloudWatch Logs extracts them from the log groups above with
# no resource here; they are for dashboards. The alarms below count log lines with metric filters
# instead, in this deployment's own namespace, so two deployments in one account never page for each other.
locals {
  metrics_namespace = "RetainWise/${local.prefix}"
  # Both services write security events (retainwise/platform/events.py: one JSON line
  # {"event": "security", "kind": ...} per refused link, refused upload or limit hit).
  service_log_groups = {
    runner  = aws_cloudwatch_log_group.runner.name
    reports = aws_cloudwatch_log_group.reports.name
  }
  # Events per 5 minutes, summed over every task, above which someone is probing or hammering us: a
  # visitor with an expired link retries a few times; an enumeration of tokens or a script does not stop.
  security_alarm_threshold = {
    SecurityEvents = 100
    LinksRefused   = 30
    UploadsRefused = 20
    LimitHits      = 50
  }
}

resource "aws_cloudwatch_log_metric_filter" "security_events" {
  for_each       = local.service_log_groups
  name           = "${local.prefix}-${each.key}-security-events"
  log_group_name = each.value
  pattern        = "{ $.event = \"security\" }"

  metric_transformation {
    name          = "SecurityEvents"
    namespace     = local.metrics_namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_log_metric_filter" "links_refused" {
  for_each       = local.service_log_groups
  name           = "${local.prefix}-${each.key}-links-refused"
  log_group_name = each.value
  pattern        = "{ ($.event = \"security\") && ($.kind = \"link_refused\") }"

  metric_transformation {
    name          = "LinksRefused"
    namespace     = local.metrics_namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_log_metric_filter" "uploads_refused" {
  for_each       = local.service_log_groups
  name           = "${local.prefix}-${each.key}-uploads-refused"
  log_group_name = each.value
  pattern        = "{ ($.event = \"security\") && ($.kind = \"upload_refused\") }"

  metric_transformation {
    name          = "UploadsRefused"
    namespace     = local.metrics_namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_log_metric_filter" "limit_hits" {
  for_each       = local.service_log_groups
  name           = "${local.prefix}-${each.key}-limit-hits"
  log_group_name = each.value
  pattern        = "{ ($.event = \"security\") && ($.kind = \"limit_hit\") }"

  metric_transformation {
    name          = "LimitHits"
    namespace     = local.metrics_namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "security" {
  for_each            = local.security_alarm_threshold
  alarm_name          = "${local.prefix}-${lower(each.key)}"
  alarm_description   = "More than ${each.value} ${each.key} in 5 minutes: search the runner and reports log groups for {$.event = \"security\"} (kind, tenant, reason)."
  namespace           = local.metrics_namespace
  metric_name         = each.key
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  depends_on = [
    aws_cloudwatch_log_metric_filter.security_events,
    aws_cloudwatch_log_metric_filter.links_refused,
    aws_cloudwatch_log_metric_filter.uploads_refused,
    aws_cloudwatch_log_metric_filter.limit_hits,
  ]
}

# Runs, counted from the runner's lines: a failed run alone is a tenant's unusable file (runner_errors
# above tells someone); most runs failing at once is the platform broken.
resource "aws_cloudwatch_log_metric_filter" "runs_failed" {
  name           = "${local.prefix}-runs-failed"
  log_group_name = aws_cloudwatch_log_group.runner.name
  pattern        = "{ $.event = \"run_failed\" }"

  metric_transformation {
    name          = "RunsFailed"
    namespace     = local.metrics_namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_log_metric_filter" "runs_completed" {
  name           = "${local.prefix}-runs-completed"
  log_group_name = aws_cloudwatch_log_group.runner.name
  pattern        = "{ $.event = \"run_completed\" }"

  metric_transformation {
    name          = "RunsCompleted"
    namespace     = local.metrics_namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "failed_run_share" {
  alarm_name          = "${local.prefix}-failed-run-share"
  alarm_description   = "Over half of at least 5 runs in 15 minutes failed: the platform, not one tenant's file (search the runner log group for run_failed)."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0.5
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "share"
    expression  = "IF(failed + completed >= 5, failed / (failed + completed), 0)"
    label       = "Share of runs failed"
    return_data = true
  }

  metric_query {
    id = "failed"
    metric {
      namespace   = local.metrics_namespace
      metric_name = "RunsFailed"
      stat        = "Sum"
      period      = 900
    }
  }

  metric_query {
    id = "completed"
    metric {
      namespace   = local.metrics_namespace
      metric_name = "RunsCompleted"
      stat        = "Sum"
      period      = 900
    }
  }

  depends_on = [aws_cloudwatch_log_metric_filter.runs_failed, aws_cloudwatch_log_metric_filter.runs_completed]
}
