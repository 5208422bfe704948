# Copy to terraform.tfvars (or pass with -var-file) and fill in your account's values.
name        = "retainwise"
environment = "prod"
aws_region  = "eu-west-1"

vpc_id             = "vpc-0123456789abcdef0"
public_subnet_ids  = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
private_subnet_ids = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]

certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
report_hostname = "reports.example.com"

# The tag you pushed with infra/README.md "Push images"; apply an older tag to roll back.
image_tag = "0.1.0"

runner_max_count                 = 10
run_timeout_seconds              = 240
queue_visibility_timeout_seconds = 300

alarm_email = "oncall@example.com"

tags = {
  CostCenter = "analytics"
}
