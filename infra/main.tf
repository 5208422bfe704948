# Names and values shared by every file of this configuration.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  prefix     = "${var.name}-${var.environment}"

  # The S3 layout the runner and the report server share (retainwise/storage.py).
  uploads_prefix = "uploads/"
  results_prefix = "results/"

  report_url = "https://${var.report_hostname}"

  # Writable paths inside read-only containers: HOME (Jupyter runtime files, IPython profile,
  # RETAINWISE_HOME with the worker heartbeat) and /tmp, both on the task's ephemeral storage.
  container_home  = "/home/retainwise"
  retainwise_home = "/home/retainwise/state"
}
