"""The queue runner: SQS in, the pipeline notebooks run with Papermill once per upload, status out."""
