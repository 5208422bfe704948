output "queue_url" {
  description = "URL of the job queue (RETAINWISE_QUEUE_URL for the runner and for `retainwise submit`)."
  value       = aws_sqs_queue.jobs.id
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue (inspect and redrive failed uploads)."
  value       = aws_sqs_queue.dead_letter.id
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue (source of `aws sqs start-message-move-task`)."
  value       = aws_sqs_queue.dead_letter.arn
}

output "bucket_name" {
  description = "Data bucket (RETAINWISE_BUCKET): uploads/<tenant>/... in, results/<tenant>/<run_id>/... out."
  value       = aws_s3_bucket.data.id
}

output "log_bucket_name" {
  description = "Bucket holding the load balancer and S3 access logs."
  value       = aws_s3_bucket.logs.id
}

output "report_url" {
  description = "Public base URL of the report server (RETAINWISE_REPORT_URL)."
  value       = local.report_url
}

output "load_balancer_dns_name" {
  description = "DNS name of the report load balancer: point report_hostname at it (CNAME or alias)."
  value       = aws_lb.reports.dns_name
}

output "load_balancer_zone_id" {
  description = "Hosted zone of the load balancer, for a Route 53 alias record."
  value       = aws_lb.reports.zone_id
}

output "runner_repository_url" {
  description = "ECR repository for infra/docker/runner.Dockerfile images."
  value       = aws_ecr_repository.images["runner"].repository_url
}

output "reports_repository_url" {
  description = "ECR repository for infra/docker/reports.Dockerfile images."
  value       = aws_ecr_repository.images["reports"].repository_url
}

output "cluster_name" {
  description = "ECS cluster running both services."
  value       = aws_ecs_cluster.main.name
}

output "runner_service_name" {
  description = "ECS service of the queue runners."
  value       = aws_ecs_service.runner.name
}

output "reports_service_name" {
  description = "ECS service of the report server."
  value       = aws_ecs_service.reports.name
}

output "database_endpoint" {
  description = "Host:port of the PostgreSQL run store (private)."
  value       = aws_db_instance.runs.endpoint
}

output "database_url_secret_arn" {
  description = "Secrets Manager secret holding RETAINWISE_DATABASE_URL."
  value       = aws_secretsmanager_secret.database_url.arn
}

output "link_secret_arn" {
  description = "Secrets Manager secret holding RETAINWISE_SECRET (signs report links)."
  value       = aws_secretsmanager_secret.link_secret.arn
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms publish to; subscribe pagers or chat here."
  value       = aws_sns_topic.alarms.arn
}

output "runner_log_group" {
  description = "CloudWatch log group of the runner (JSON lines, one event each)."
  value       = aws_cloudwatch_log_group.runner.name
}

output "reports_log_group" {
  description = "CloudWatch log group of the report server."
  value       = aws_cloudwatch_log_group.reports.name
}

output "kms_key_arn" {
  description = "Customer-managed KMS key encrypting the bucket, secrets, database, images and logs."
  value       = aws_kms_key.data.arn
}
