# The runner service follows the queue: step scaling out while uploads wait, and in to
# runner_min_count (zero by default) once nothing has been waiting or running for a while.
#
# It never scales in part-way: ECS cannot pick the idle task, so removing one while others are
# busy could stop a run (the run would come back after the visibility timeout, but late).

resource "aws_appautoscaling_target" "runner" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.runner.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.runner_min_count
  max_capacity       = var.runner_max_count
}

resource "aws_appautoscaling_policy" "runner_out" {
  name               = "${local.prefix}-runner-backlog"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.runner.service_namespace
  resource_id        = aws_appautoscaling_target.runner.resource_id
  scalable_dimension = aws_appautoscaling_target.runner.scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = 60
    metric_aggregation_type = "Maximum"

    # Bounds are relative to the alarm threshold (0.5 visible messages). While uploads keep
    # waiting the alarm stays in ALARM and the step repeats each minute, up to runner_max_count.
    step_adjustment {
      metric_interval_lower_bound = 0
      metric_interval_upper_bound = 10
      scaling_adjustment          = 1
    }
    step_adjustment {
      metric_interval_lower_bound = 10
      metric_interval_upper_bound = 50
      scaling_adjustment          = 2
    }
    step_adjustment {
      metric_interval_lower_bound = 50
      scaling_adjustment          = 4
    }
  }
}

resource "aws_appautoscaling_policy" "runner_in" {
  name               = "${local.prefix}-runner-idle"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.runner.service_namespace
  resource_id        = aws_appautoscaling_target.runner.resource_id
  scalable_dimension = aws_appautoscaling_target.runner.scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ExactCapacity"
    cooldown                = 300
    metric_aggregation_type = "Maximum"

    step_adjustment {
      metric_interval_upper_bound = 0
      scaling_adjustment          = var.runner_min_count
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "queue_backlog" {
  alarm_name          = "${local.prefix}-queue-backlog"
  alarm_description   = "Uploads are waiting: add runner tasks."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.jobs.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0.5
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.runner_out.arn]
}

# Waiting plus in-flight: zero means no runner holds a message, so scaling in stops no run.
resource "aws_cloudwatch_metric_alarm" "queue_idle" {
  alarm_name          = "${local.prefix}-queue-idle"
  alarm_description   = "No upload waiting or running for ${var.runner_idle_minutes} minutes: scale runners in."
  comparison_operator = "LessThanThreshold"
  threshold           = 0.5
  evaluation_periods  = var.runner_idle_minutes
  datapoints_to_alarm = var.runner_idle_minutes
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_appautoscaling_policy.runner_in.arn]

  metric_query {
    id          = "work"
    expression  = "visible + inflight"
    label       = "Uploads waiting or running"
    return_data = true
  }
  metric_query {
    id = "visible"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.jobs.name }
      stat        = "Maximum"
      period      = 60
    }
  }
  metric_query {
    id = "inflight"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesNotVisible"
      dimensions  = { QueueName = aws_sqs_queue.jobs.name }
      stat        = "Maximum"
      period      = 60
    }
  }
}
