# ECS on Fargate: the runner service (queue workers, scaled by autoscaling.tf) and the report
# service (Voila behind the load balancer). The images' CMD is the command: it is not
# overridden here, so the containers run exactly retainwise.platform.entrypoints.WORKER / REPORTS.

resource "aws_ecs_cluster" "main" {
  name = local.prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

locals {
  # The same command as the images' HEALTHCHECK (infra/docker/*.Dockerfile): ECS ignores the
  # image's health check and runs only the one in the task definition.
  health_commands = {
    runner  = ["CMD", "python", "/opt/retainwise/healthcheck.py", "heartbeat"]
    reports = ["CMD", "python", "/opt/retainwise/healthcheck.py", "http"]
  }

  # A stopping runner (scale-in, deploy) gets SIGTERM, then SIGKILL after the stop timeout (120 s is
  # Fargate's maximum, below the 240 s a run may take). The runner waits the stop grace for runs in
  # hand, then hands their messages back (visibility 0), so an unfinished upload is picked up at once
  # by another runner instead of waiting out a visibility timeout. 20 s is left for the hand-back.
  runner_stop_timeout = 120
  runner_stop_grace   = 100

  # Spelled out per service (no merge) so each container's settings read at a glance and
  # tests/test_infra.py can check them against retainwise.settings.Settings.
  service_environment = {
    runner = {
      AWS_DEFAULT_REGION            = local.region
      RETAINWISE_QUEUE_URL          = aws_sqs_queue.jobs.id
      RETAINWISE_BUCKET             = aws_s3_bucket.data.id
      RETAINWISE_REPORT_URL         = local.report_url
      RETAINWISE_HOME               = local.retainwise_home
      RETAINWISE_RUN_TIMEOUT        = tostring(var.run_timeout_seconds)
      RETAINWISE_VISIBILITY_TIMEOUT = tostring(var.queue_visibility_timeout_seconds)
      RETAINWISE_STOP_GRACE         = tostring(local.runner_stop_grace)
    }
    reports = {
      AWS_DEFAULT_REGION    = local.region
      RETAINWISE_BUCKET     = aws_s3_bucket.data.id
      RETAINWISE_REPORT_URL = local.report_url
      RETAINWISE_HOME       = local.retainwise_home
    }
  }

  runner_container = {
    name                   = "runner"
    image                  = "${aws_ecr_repository.images["runner"].repository_url}:${var.image_tag}"
    essential              = true
    readonlyRootFilesystem = true
    environment            = [for k, v in local.service_environment.runner : { name = k, value = v }]
    secrets                = [for k, v in local.service_secrets.runner : { name = k, valueFrom = v }]
    mountPoints = [
      { sourceVolume = "home", containerPath = local.container_home, readOnly = false },
      { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
    ]
    healthCheck = {
      command     = local.health_commands.runner
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    # tini as PID 1 reaps the kernels Papermill starts and forwards SIGTERM to the worker.
    linuxParameters = { initProcessEnabled = true }
    # The Fargate maximum: a scale-in or deploy lets the current run finish or hand its message back.
    stopTimeout = local.runner_stop_timeout
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.runner.name
        awslogs-region        = local.region
        awslogs-stream-prefix = "runner"
        mode                  = "non-blocking"
      }
    }
  }

  reports_container = {
    name                   = "reports"
    image                  = "${aws_ecr_repository.images["reports"].repository_url}:${var.image_tag}"
    essential              = true
    readonlyRootFilesystem = true
    portMappings           = [{ containerPort = 8866, protocol = "tcp" }]
    environment            = [for k, v in local.service_environment.reports : { name = k, value = v }]
    secrets                = [for k, v in local.service_secrets.reports : { name = k, valueFrom = v }]
    mountPoints = [
      { sourceVolume = "home", containerPath = local.container_home, readOnly = false },
      { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
    ]
    healthCheck = {
      command     = local.health_commands.reports
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    linuxParameters = { initProcessEnabled = true }
    stopTimeout     = 30
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.reports.name
        awslogs-region        = local.region
        awslogs-stream-prefix = "reports"
        mode                  = "non-blocking"
      }
    }
  }
}

resource "aws_ecs_task_definition" "runner" {
  family                   = "${local.prefix}-runner"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.runner_cpu
  memory                   = var.runner_memory
  execution_role_arn       = aws_iam_role.execution["runner"].arn
  task_role_arn            = aws_iam_role.runner_task.arn
  container_definitions    = jsonencode([local.runner_container])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # Task-local scratch space (Fargate ephemeral storage) for the read-only containers.
  volume {
    name = "home"
  }
  volume {
    name = "tmp"
  }
}

resource "aws_ecs_task_definition" "reports" {
  family                   = "${local.prefix}-reports"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.reports_cpu
  memory                   = var.reports_memory
  execution_role_arn       = aws_iam_role.execution["reports"].arn
  task_role_arn            = aws_iam_role.reports_task.arn
  container_definitions    = jsonencode([local.reports_container])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "home"
  }
  volume {
    name = "tmp"
  }
}

resource "aws_ecs_service" "runner" {
  name            = "runner"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.runner.arn
  launch_type     = "FARGATE"
  # Autoscaling owns the count from here on (it starts at zero; an upload scales it out).
  desired_count           = var.runner_min_count
  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.runner.id]
    assign_public_ip = false
  }

  lifecycle {
    ignore_changes = [desired_count]
  }
}

resource "aws_ecs_service" "reports" {
  name                    = "reports"
  cluster                 = aws_ecs_cluster.main.id
  task_definition         = aws_ecs_task_definition.reports.arn
  launch_type             = "FARGATE"
  desired_count           = var.reports_desired_count
  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  health_check_grace_period_seconds  = 120
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.reports.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.reports.arn
    container_name   = "reports"
    container_port   = 8866
  }

  depends_on = [aws_lb_listener.https]
}
