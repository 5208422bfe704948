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
