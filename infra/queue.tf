# The job queue the runners read and its dead-letter queue.

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${local.prefix}-jobs-dlq"
  message_retention_seconds = 1209600 # 14 days: time to inspect and redrive a failed upload
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "jobs" {
  name = "${local.prefix}-jobs"
  # Longer than the longest run, so a message being worked on is never handed to a second runner.
  visibility_timeout_seconds = var.queue_visibility_timeout_seconds
  message_retention_seconds  = 345600 # 4 days
  receive_wait_time_seconds  = 20     # long polling: idle runners cost no empty receives
  # SQS-managed keys: S3 event notifications can be delivered without a KMS grant to S3.
  sqs_managed_sse_enabled = true

  # A message that failed three deliveries (runner crashed or timed out) is parked, not retried forever.
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = 3
  })

  lifecycle {
    precondition {
      condition     = var.queue_visibility_timeout_seconds > var.run_timeout_seconds
      error_message = "queue_visibility_timeout_seconds must exceed run_timeout_seconds, or a run still in progress is delivered to a second runner."
    }
  }
}

# Only the jobs queue may use the dead-letter queue, which also makes `start-message-move-task`
# (redrive) return messages to it.
resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.jobs.arn]
  })
}

data "aws_iam_policy_document" "jobs_queue" {
  statement {
    sid       = "DataBucketSendsUploadEvents"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.jobs.arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.data.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.jobs.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "jobs" {
  queue_url = aws_sqs_queue.jobs.id
  policy    = data.aws_iam_policy_document.jobs_queue.json
}

data "aws_iam_policy_document" "dead_letter_queue" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dead_letter.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy    = data.aws_iam_policy_document.dead_letter_queue.json
}
