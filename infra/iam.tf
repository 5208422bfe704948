# Least privilege per service. Each service has two roles:
# - the task role is what the code inside the container may do (queue, bucket prefixes);
# - the execution role is what ECS may do to start it (pull its image, read its secrets, write its logs).
# tests/test_infra.py asserts the exact action and resource lists below.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    # Confused-deputy guard: only tasks of this account may assume the roles.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

# --- runner: receive/delete/extend its own queue, read uploads/*, write results/* ---

data "aws_iam_policy_document" "runner_task" {
  statement {
    sid = "JobQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility", # extends a long run's lease
      "sqs:GetQueueAttributes",      # queue depth for the worker's status and logs
      "sqs:SendMessage",             # a message whose receives are spent while it waits is sent again
    ]
    resources = [aws_sqs_queue.jobs.arn]
  }

  # A run that gave up on a transient fault parks its message here, where a redrive finds it.
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }

  # GetObject on the current version only: the runner never needs s3:GetObjectVersion, nor
  # s3:ListBucket (a missing upload therefore reads as AccessDenied, not NoSuchKey).
  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.data.arn}/${local.uploads_prefix}*"]
  }

  # Outputs are written once: the runner reads a run's completion marker before running it again
  # (GetObject), and listing results/ lets a missing marker read as 404 rather than AccessDenied.
  statement {
    sid       = "WriteResults"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${aws_s3_bucket.data.arn}/${local.results_prefix}*"]
  }

  statement {
    sid       = "ListResults"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.results_prefix}*"]
    }
  }

  # Finished runs are announced by e-mail when a tenant asks for it (retainwise.platform.notify).
  statement {
    sid       = "NotifyByEmail"
    actions   = ["ses:SendEmail"]
    resources = ["arn:${local.partition}:ses:${local.region}:${local.account_id}:identity/*"]
  }

  # The bucket is SSE-KMS: reading an upload decrypts, writing a result generates a data key.
  # Only through S3, so the role cannot use the key for anything else.
  statement {
    sid       = "BucketKeyViaS3"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "runner_task" {
  name_prefix        = "${local.prefix}-runner-task-"
  description        = "RetainWise runner: its queue, uploads/* in, results/* out."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "runner_task" {
  name   = "runner"
  role   = aws_iam_role.runner_task.id
  policy = data.aws_iam_policy_document.runner_task.json
}

# --- reports (Voila): read results/*; the tenant portal writes uploads/* and queues them ---
# s3:ListBucket under uploads/ only, to count a tenant's upload bytes of the last 24 hours (its quota,
# retainwise.platform.quotas); the report finds a run's output keys in the run store
# (retainwise.reports.data), reads them with GetObject, and hands out presigned GETs for them.
# The portal streams a tenant's file to uploads/<tenant>/portal/ (the tenant prefix comes from
# the signed portal token, checked by the server before the body is read), copies it to
# uploads/<tenant>/ once its columns are confirmed, and sends the run's job message.

data "aws_iam_policy_document" "reports_task" {
  statement {
    sid       = "ReadResults"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.data.arn}/${local.results_prefix}*"]
  }

  statement {
    sid       = "PortalUploads"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${aws_s3_bucket.data.arn}/${local.uploads_prefix}*"]
  }

  # Only the portal's staging folder is ever deleted from, has multipart uploads aborted, or is tagged
  # (the tag that makes the lifecycle rule expire a staged file after a day).
  statement {
    sid       = "PortalStaging"
    actions   = ["s3:DeleteObject", "s3:AbortMultipartUpload", "s3:PutObjectTagging"]
    resources = ["${aws_s3_bucket.data.arn}/${local.uploads_prefix}*/portal/*"]
  }

  statement {
    sid       = "CountUploads"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.uploads_prefix}*"]
    }
  }

  statement {
    sid       = "QueuePortalUploads"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.jobs.arn]
  }

  statement {
    sid       = "BucketKeyViaS3"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "reports_task" {
  name_prefix        = "${local.prefix}-reports-task-"
  description        = "RetainWise report server: read results/*, portal uploads to uploads/*."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "reports_task" {
  name   = "reports"
  role   = aws_iam_role.reports_task.id
  policy = data.aws_iam_policy_document.reports_task.json
}

# --- execution roles: one per service, so each reads only the secrets it is given ---

locals {
  # The secrets each container receives (name in the container => secret ARN); the container
  # definitions in ecs.tf and the execution role policies below both read this map.
  service_secrets = {
    runner = {
      RETAINWISE_DATABASE_URL = aws_secretsmanager_secret.database_url.arn
      RETAINWISE_SECRET       = aws_secretsmanager_secret.link_secret.arn
    }
    reports = {
      RETAINWISE_DATABASE_URL = aws_secretsmanager_secret.database_url.arn
      RETAINWISE_SECRET       = aws_secretsmanager_secret.link_secret.arn
    }
  }
  service_log_groups = {
    runner  = aws_cloudwatch_log_group.runner.arn
    reports = aws_cloudwatch_log_group.reports.arn
  }
}

data "aws_iam_policy_document" "execution" {
  for_each = local.service_secrets

  # GetAuthorizationToken has no resource-level permissions; AWS requires "*".
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullOwnImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.images[each.key].arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.service_log_groups[each.key]}:*"]
  }

  statement {
    sid       = "ReadOwnSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = sort(distinct(values(each.value)))
  }

  statement {
    sid       = "SecretKeyViaSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  for_each           = local.service_secrets
  name_prefix        = "${local.prefix}-${each.key}-exec-"
  description        = "ECS starts the RetainWise ${each.key}: pull its image, read its secrets, write its logs."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "execution" {
  for_each = local.service_secrets
  name     = "start-${each.key}"
  role     = aws_iam_role.execution[each.key].id
  policy   = data.aws_iam_policy_document.execution[each.key].json
}
