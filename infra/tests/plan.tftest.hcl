# `terraform init && terraform test` (from infra/): plans the whole configuration against a mocked
# AWS provider, so no account or credentials are needed, and checks the plan-time guards.
# (tests/test_infra.py checks the rest without Terraform; this is for people who have it.)

mock_provider "aws" {
  # Policy documents feed JSON attributes, so they need valid JSON rather than a random string.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}
variables {
  vpc_id             = "vpc-0123456789abcdef0"
  public_subnet_ids  = ["subnet-1", "subnet-2"]
  private_subnet_ids = ["subnet-3", "subnet-4"]
  certificate_arn    = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
  report_hostname    = "reports.example.com"
  image_tag          = "0.1.0"
}
run "plan_defaults" {
  command = plan

  assert {
    condition     = aws_sqs_queue.jobs.visibility_timeout_seconds > var.run_timeout_seconds
    error_message = "The job queue's visibility timeout must exceed the run timeout."
  }
  assert {
    condition     = aws_sqs_queue.dead_letter.message_retention_seconds == 1209600
    error_message = "Dead letters are kept 14 days."
  }
  assert {
    condition     = aws_appautoscaling_target.runner.min_capacity == 0
    error_message = "The runner service scales to zero by default."
  }
}
run "visibility_below_run_timeout_is_refused" {
  command = plan
  variables {
    run_timeout_seconds              = 400
    queue_visibility_timeout_seconds = 300
  }
  expect_failures = [aws_sqs_queue.jobs]
}
run "latest_tag_refused" {
  command = plan
  variables {
    image_tag = "latest"
  }
  expect_failures = [var.image_tag]
}
