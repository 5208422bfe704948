terraform {
  # 1.5+: `check` blocks and lifecycle preconditions used below.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge(var.tags, {
      Project     = "retainwise"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}
