# Every input of the deployment. Values without a default must be set (see example.tfvars).

variable "name" {
  description = "Short name prefixed to every resource (lowercase letters, digits, hyphens)."
  type        = string
  default     = "retainwise"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,11}$", var.name))
    error_message = "name must be 2-12 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment stage (for example prod or staging); part of every resource name."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.environment))
    error_message = "environment must be 2-8 lowercase letters or digits."
  }
}

variable "aws_region" {
  description = "AWS region to deploy into; also AWS_DEFAULT_REGION inside the containers."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Extra tags added to every resource."
  type        = map(string)
  default     = {}
}

# --- network (bring your own VPC) ---

variable "vpc_id" {
  description = "VPC to deploy into."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets (at least two AZs) for the report load balancer."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An application load balancer needs subnets in at least two availability zones."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets (at least two AZs) for the ECS tasks and the database; they need a NAT gateway or VPC endpoints for ECR, S3, SQS, Secrets Manager and CloudWatch Logs."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "The database subnet group needs subnets in at least two availability zones."
  }
}

variable "allowed_ingress_cidrs" {
  description = "CIDR blocks allowed to reach the report load balancer (HTTPS, and HTTP that only redirects)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

# --- reports (Voila behind the ALB) ---

variable "certificate_arn" {
  description = "ACM certificate ARN for the HTTPS listener; it must cover report_hostname."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "report_hostname" {
  description = "Public host name of the report server (a DNS alias to the load balancer); signed links use https://<report_hostname>."
  type        = string
}

variable "reports_desired_count" {
  description = "Number of report server (Voila) tasks."
  type        = number
  default     = 2

  validation {
    condition     = var.reports_desired_count >= 1
    error_message = "At least one report server task is needed."
  }
}

variable "reports_cpu" {
  description = "Fargate CPU units for one report server task."
  type        = number
  default     = 1024
}

variable "reports_memory" {
  description = "Memory (MiB) for one report server task."
  type        = number
  default     = 2048
}

# --- runner (queue workers) ---

variable "image_tag" {
  description = "Tag of the runner and reports images in ECR to deploy (tags are immutable; roll back by applying the previous tag)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a valid, explicit Docker tag (not latest)."
  }
}

variable "runner_cpu" {
  description = "Fargate CPU units for one runner task."
  type        = number
  default     = 1024
}

variable "runner_memory" {
  description = "Memory (MiB) for one runner task."
  type        = number
  default     = 4096
}

variable "runner_min_count" {
  description = "Fewest runner tasks; 0 lets the service scale to zero when the queue is idle."
  type        = number
  default     = 0

  validation {
    condition     = var.runner_min_count >= 0
    error_message = "runner_min_count cannot be negative."
  }
}

variable "runner_max_count" {
  description = "Most runner tasks the queue depth may scale the service to."
  type        = number
  default     = 10

  validation {
    condition     = var.runner_max_count >= 1
    error_message = "runner_max_count must be at least 1."
  }
}

variable "runner_idle_minutes" {
  description = "Minutes with no visible and no in-flight messages before the runner service scales in to runner_min_count."
  type        = number
  default     = 15
}

variable "run_timeout_seconds" {
  description = "Longest one pipeline run may take (RETAINWISE_RUN_TIMEOUT in the runner); must be below queue_visibility_timeout_seconds."
  type        = number
  default     = 240

  validation {
    condition     = var.run_timeout_seconds >= 30 && var.run_timeout_seconds <= 3600
    error_message = "run_timeout_seconds must be between 30 and 3600."
  }
}

variable "queue_visibility_timeout_seconds" {
  description = "SQS visibility timeout of the job queue (RETAINWISE_VISIBILITY_TIMEOUT in the runner); must exceed run_timeout_seconds so a running upload is not handed to a second runner."
  type        = number
  default     = 300

  validation {
    condition     = var.queue_visibility_timeout_seconds >= 60 && var.queue_visibility_timeout_seconds <= 43200
    error_message = "queue_visibility_timeout_seconds must be between 60 and 43200 (the SQS maximum)."
  }
}

# --- storage ---

variable "upload_retention_days" {
  description = "Days an uploaded customer file is kept under uploads/ before S3 expires it."
  type        = number
  default     = 30
}

variable "result_retention_days" {
  description = "Days run outputs are kept under results/ before S3 expires them."
  type        = number
  default     = 365
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object version is kept (the bucket is versioned)."
  type        = number
  default     = 30
}

variable "access_log_retention_days" {
  description = "Days load balancer and S3 access logs are kept in the log bucket."
  type        = number
  default     = 365
}

# --- database ---

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL run store."
  type        = string
  default     = "db.t4g.small"
}

variable "db_engine_version" {
  description = "PostgreSQL major version of the run store (minor versions upgrade automatically)."
  type        = string
  default     = "16"
}

variable "db_allocated_storage_gb" {
  description = "Initial storage of the run store (GiB)."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage_gb" {
  description = "Ceiling for storage autoscaling of the run store (GiB)."
  type        = number
  default     = 100
}

variable "db_multi_az" {
  description = "Run the database with a synchronous standby in a second availability zone."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of automated database backups (point-in-time recovery window)."
  type        = number
  default     = 14
}

variable "deletion_protection" {
  description = "Protect the database and the load balancer from deletion (set false only to tear an environment down)."
  type        = bool
  default     = true
}

# --- monitoring ---

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups (days; one of the values CloudWatch accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (for example 30, 90, 365, 731)."
  }
}

variable "oldest_message_alarm_seconds" {
  description = "Alarm when the oldest waiting upload has been queued longer than this (seconds)."
  type        = number
  default     = 900
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic; empty for none (subscribe other endpoints to the alarm_topic_arn output)."
  type        = string
  default     = ""
}

variable "waf_rate_limit_per_5_minutes" {
  description = "Requests one client IP may make to the report server in 5 minutes before the WAF blocks it."
  type        = number
  default     = 2000
}
