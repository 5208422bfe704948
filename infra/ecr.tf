# Image repositories for the two container files in infra/docker/.

resource "aws_ecr_repository" "images" {
  for_each             = toset(["runner", "reports"])
  name                 = "${local.prefix}/${each.key}"
  image_tag_mutability = "IMMUTABLE" # a tag names one build forever, so rolling back is re-applying a tag

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.data.arn
  }
}

resource "aws_ecr_lifecycle_policy" "images" {
  for_each   = aws_ecr_repository.images
  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 30 newest images (enough to roll back)"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 30
      }
      action = { type = "expire" }
    }]
  })
}
