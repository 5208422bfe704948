"""infra/: the Terraform and the container files, checked without an AWS account.

The Terraform is parsed with python-hcl2 and its security properties asserted directly
(redrive, timeouts, retention, nothing public, least-privilege IAM); checkov scans the whole
directory; the Dockerfiles are parsed and must run exactly retainwise.platform.entrypoints; the health
check script they share is executed for real.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import hcl2
import pytest

from retainwise.platform import entrypoints
from retainwise.settings import Settings
from runner.log import EventLog

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
DOCKER = INFRA / "docker"
HEALTHCHECK = DOCKER / "healthcheck.py"

BUCKET = "${aws_s3_bucket.data.arn}"
JOBS_QUEUE = "${aws_sqs_queue.jobs.arn}"
KMS_KEY = "${aws_kms_key.data.arn}"
S3_VIA = "s3.${local.region}.amazonaws.com"


# --------------------------------------------------------------------------- parsing helpers


def _clean(value):
    """Drop python-hcl2's block markers and any quotes it kept around strings (8.x keeps them)."""
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def _load_hcl(path: Path) -> dict:
    options_cls = getattr(hcl2, "SerializationOptions", None)
    with open(path, encoding="utf-8") as fh:
        if options_cls is None:  # python-hcl2 < 7 strips quotes by itself
            return _clean(hcl2.load(fh))
        try:
            options = options_cls(strip_string_quotes=True, with_comments=False)
        except TypeError:
            options = None
        return _clean(hcl2.load(fh, serialization_options=options) if options else hcl2.load(fh))


class Terraform:
    """Every *.tf under infra/, indexed by (type, name)."""

    def __init__(self, directory: Path) -> None:
        self.resources: dict[tuple[str, str], dict] = {}
        self.data: dict[tuple[str, str], dict] = {}
        self.variables: dict[str, dict] = {}
        self.outputs: dict[str, dict] = {}
        self.locals: dict[str, object] = {}
        self.files = sorted(directory.glob("*.tf"))
        for path in self.files:
            doc = _load_hcl(path)
            for kind, index in (("resource", self.resources), ("data", self.data)):
                for block in doc.get(kind, []):
                    for rtype, named in block.items():
                        for name, body in named.items():
                            assert (rtype, name) not in index, f"{rtype}.{name} defined twice"
                            index[(rtype, name)] = body
            for block in doc.get("variable", []):
                self.variables.update(block)
            for block in doc.get("output", []):
                self.outputs.update(block)
            for block in doc.get("locals", []):
                self.locals.update(block)

    def resource(self, rtype: str, name: str) -> dict:
        assert (rtype, name) in self.resources, f"missing resource {rtype}.{name}"
        return self.resources[(rtype, name)]

    def of_type(self, rtype: str) -> dict[str, dict]:
        return {name: body for (t, name), body in self.resources.items() if t == rtype}

    def default(self, variable: str):
        return self.variables[variable]["default"]

    def policy_document(self, reference: str) -> list[dict]:
        """Statements of ``${data.aws_iam_policy_document.NAME.json}`` (or ``[KEY]`` for for_each)."""
        m = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)(?:\[[^\]]+\])?\.json\}", reference)
        assert m, f"policy is not an aws_iam_policy_document reference: {reference!r}"
        return self.data[("aws_iam_policy_document", m.group(1))]["statement"]


@cache
def tf() -> Terraform:
    return Terraform(INFRA)


def _block(body: dict, key: str) -> dict:
    """A nested block that appears once (hcl2 gives blocks as one-element lists)."""
    value = body[key]
    if isinstance(value, list):
        assert len(value) == 1, f"expected one {key} block, found {len(value)}"
        return value[0]
    return value


def _bare(reference: str) -> str:
    """``${a.b}`` -> ``a.b`` (hcl2 versions differ in wrapping bare references)."""
    return reference[2:-1] if reference.startswith("${") and reference.endswith("}") else reference


def _statements_by_sid(statements: list[dict]) -> dict[str, dict]:
    return {s["sid"]: s for s in statements}


def _grants(statements: list[dict]) -> set[tuple[str, str]]:
    """(action, resource) pairs an Allow policy grants."""
    pairs = set()
    for s in statements:
        assert s.get("effect", "Allow") == "Allow"
        for action in s["actions"]:
            for resource in s["resources"]:
                pairs.add((action, resource))
    return pairs


def _conditions(statement: dict) -> dict[str, tuple[str, list]]:
    return {c["variable"]: (c["test"], c["values"]) for c in statement.get("condition", [])}


# --------------------------------------------------------------------------- the configuration


def test_every_variable_and_output_is_documented():
    t = tf()
    assert len(t.files) >= 10 and t.resources, "infra/*.tf did not parse into resources"
    for name, body in t.variables.items():
        assert len(body.get("description", "")) >= 10, f"variable {name} needs a description"
        assert "type" in body, f"variable {name} needs a type"
    for name, body in t.outputs.items():
        assert len(body.get("description", "")) >= 10, f"output {name} needs a description"
    for needed in (
        "queue_url",
        "dead_letter_queue_url",
        "bucket_name",
        "report_url",
        "runner_repository_url",
        "reports_repository_url",
        "cluster_name",
    ):
        assert needed in t.outputs


def test_readme_documents_every_variable_output_and_runbook():
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    t = tf()
    for name in [*t.variables, *t.outputs]:
        assert f"| `{name}` |" in readme, f"infra/README.md does not document {name}"
    for section in (
        "## Apply",
        "## Push images",
        "## Scale",
        "## Redrive the dead-letter queue",
        "## Rotate the secret",
        "## Roll back",
    ):
        assert section in readme


def test_example_tfvars_sets_every_required_variable_and_no_unknown_one():
    t = tf()
    example = _load_hcl(INFRA / "example.tfvars")
    required = {name for name, body in t.variables.items() if "default" not in body}
    assert required <= set(example), f"example.tfvars misses {sorted(required - set(example))}"
    assert set(example) <= set(t.variables), (
        f"unknown in example.tfvars: {sorted(set(example) - set(t.variables))}"
    )
    assert example["queue_visibility_timeout_seconds"] > example["run_timeout_seconds"]


def test_redrive_policy_dead_letters_after_three_receives():
    jobs = tf().resource("aws_sqs_queue", "jobs")
    policy = jobs["redrive_policy"]
    assert re.search(r"deadLetterTargetArn\s*=\s*aws_sqs_queue\.dead_letter\.arn\b", policy), policy
    count = re.search(r"maxReceiveCount\s*=\s*(\d+)", policy)
    assert count and int(count.group(1)) == 3, policy
    # and only the jobs queue may dead-letter into it (which also makes redrive return there)
    allow = tf().resource("aws_sqs_queue_redrive_allow_policy", "dead_letter")["redrive_allow_policy"]
    assert '"byQueue"' in allow and "sourceQueueArns = [aws_sqs_queue.jobs.arn]" in allow


def test_aws_queues_match_the_local_platform_and_the_runner():
    """`retainwise up` builds the same queues locally; the runner gives up on the same receive."""
    from retainwise.platform import embedded as aws_local
    from retainwise.platform import runs

    t = tf()
    count = int(
        re.search(r"maxReceiveCount\s*=\s*(\d+)", t.resource("aws_sqs_queue", "jobs")["redrive_policy"])[1]
    )
    assert count == aws_local.MAX_RECEIVE_COUNT == runs.MAX_ATTEMPTS
    assert t.resource("aws_sqs_queue", "jobs")["message_retention_seconds"] == aws_local.QUEUE_RETENTION_S
    assert (
        t.resource("aws_sqs_queue", "dead_letter")["message_retention_seconds"] == aws_local.DLQ_RETENTION_S
    )


def test_visibility_timeout_exceeds_the_runner_run_timeout():
    t = tf()
    jobs = t.resource("aws_sqs_queue", "jobs")
    assert jobs["visibility_timeout_seconds"] == "${var.queue_visibility_timeout_seconds}"
    visibility, run_timeout = t.default("queue_visibility_timeout_seconds"), t.default("run_timeout_seconds")
    assert visibility > run_timeout
    # The runner receives the same numbers Terraform gives the queue ...
    runner_env = t.locals["service_environment"]["runner"]
    assert runner_env["RETAINWISE_RUN_TIMEOUT"] == "${tostring(var.run_timeout_seconds)}"
    assert runner_env["RETAINWISE_VISIBILITY_TIMEOUT"] == "${tostring(var.queue_visibility_timeout_seconds)}"
    # ... which are the package's own defaults, so local and AWS runs time out alike.
    defaults = Settings()
    assert (run_timeout, visibility) == (defaults.run_timeout_s, defaults.visibility_timeout_s)
    assert defaults.visibility_timeout_s > defaults.run_timeout_s
    # A tfvars that breaks the rule is refused at plan time.
    [precondition] = _block(jobs, "lifecycle")["precondition"]
    assert precondition["condition"] == "${var.queue_visibility_timeout_seconds > var.run_timeout_seconds}"


def test_a_stopping_runner_hands_back_its_runs_before_it_is_killed():
    """Issue 13.9: ECS kills a runner `stopTimeout` seconds after SIGTERM; runs may take longer (240 s),
    so the runner waits its stop grace, then hands unfinished runs back before the kill."""
    t = tf()
    stop_timeout, grace = t.locals["runner_stop_timeout"], t.locals["runner_stop_grace"]
    runner = t.locals["runner_container"]
    assert (
        runner["stopTimeout"] == "${local.runner_stop_timeout}" and stop_timeout <= 120
    )  # Fargate's maximum
    assert (
        t.locals["service_environment"]["runner"]["RETAINWISE_STOP_GRACE"]
        == "${tostring(local.runner_stop_grace)}"
    )
    assert grace + 15 <= stop_timeout  # time left to hand the messages back and exit
    assert Settings().stop_grace_s == grace  # a runner without the variable behaves the same
    # a run that cannot finish within the grace is handed back, never left to a SIGKILL
    assert t.default("run_timeout_seconds") > grace


def test_queue_retention_is_four_days_and_dead_letters_fourteen():
    t = tf()
    assert t.resource("aws_sqs_queue", "jobs")["message_retention_seconds"] == 4 * 24 * 3600
    assert t.resource("aws_sqs_queue", "dead_letter")["message_retention_seconds"] == 14 * 24 * 3600


def test_queues_are_encrypted():
    for name, queue in tf().of_type("aws_sqs_queue").items():
        assert queue.get("sqs_managed_sse_enabled") is True or queue.get("kms_master_key_id"), name


def test_no_queue_is_public():
    t = tf()
    queues = t.of_type("aws_sqs_queue")
    policies = t.of_type("aws_sqs_queue_policy")
    assert {p["queue_url"] for p in policies.values()} == {f"${{aws_sqs_queue.{q}.id}}" for q in queues}
    senders = []
    for name, policy in policies.items():
        for s in t.policy_document(policy["policy"]):
            principals = s.get("principals", [])
            if s.get("effect", "Allow") == "Deny":
                continue
            for p in principals:
                assert "*" not in p["identifiers"], f"{name}: Allow to *"
                assert p["type"] == "Service" and p["identifiers"] == ["s3.amazonaws.com"], (name, p)
            assert s["actions"] == ["sqs:SendMessage"]
            assert _conditions(s)["aws:SourceArn"] == ("ArnEquals", [BUCKET])
            senders.append((name, s["resources"]))
    # only the data bucket, and only to the jobs queue
    assert senders == [("jobs", [JOBS_QUEUE])]


def test_no_bucket_is_public():
    t = tf()
    buckets = t.of_type("aws_s3_bucket")
    assert set(buckets) == {"data", "logs"}
    assert not t.of_type("aws_s3_bucket_acl"), "ACLs are disabled (BucketOwnerEnforced); none may be set"
    blocks = {b["bucket"]: b for b in t.of_type("aws_s3_bucket_public_access_block").values()}
    ownership = {
        o["bucket"]: _block(o, "rule") for o in t.of_type("aws_s3_bucket_ownership_controls").values()
    }
    for name, bucket in buckets.items():
        assert "acl" not in bucket and "policy" not in bucket, name
        ref = f"${{aws_s3_bucket.{name}.id}}"
        block = blocks[ref]
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert block[flag] is True, (name, flag)
        assert ownership[ref]["object_ownership"] == "BucketOwnerEnforced"
    for name, policy in t.of_type("aws_s3_bucket_policy").items():
        for s in t.policy_document(policy["policy"]):
            if s.get("effect", "Allow") == "Allow":
                for p in s.get("principals", []):
                    assert "*" not in p["identifiers"] and p["type"] != "*", (name, s["sid"])
                assert s["actions"] == ["s3:PutObject"], (name, s["sid"])  # log delivery only


def test_data_bucket_is_encrypted_versioned_and_expires_uploads_and_results():
    t = tf()
    sse = _block(t.resource("aws_s3_bucket_server_side_encryption_configuration", "data"), "rule")
    default = _block(sse, "apply_server_side_encryption_by_default")
    assert default == {"sse_algorithm": "aws:kms", "kms_master_key_id": KMS_KEY}
    versioning = _block(t.resource("aws_s3_bucket_versioning", "data"), "versioning_configuration")
    assert versioning["status"] == "Enabled"
    assert t.locals["uploads_prefix"] == "uploads/" and t.locals["results_prefix"] == "results/"
    rules = t.resource("aws_s3_bucket_lifecycle_configuration", "data")["rule"]
    expiring = {}
    for rule in rules:
        assert rule["status"] == "Enabled"
        prefix = _block(rule, "filter").get("prefix")
        if "expiration" in rule:
            expiring[prefix or rule["id"]] = _block(rule, "expiration")["days"]
    assert expiring == {
        "${local.uploads_prefix}": "${var.upload_retention_days}",
        "${local.results_prefix}": "${var.result_retention_days}",
        "expire-staged-uploads": 1,
    }
    assert t.default("upload_retention_days") < t.default("result_retention_days")


def test_staged_portal_uploads_expire_after_a_day_by_the_tag_the_portal_gives_them():
    from retainwise.platform.quotas import STAGED_TAG, STAGED_TTL_S

    rules = {r["id"]: r for r in tf().resource("aws_s3_bucket_lifecycle_configuration", "data")["rule"]}
    staged = rules["expire-staged-uploads"]
    match = _block(_block(staged, "filter"), "and")
    assert match == {"prefix": "${local.uploads_prefix}", "tags": {STAGED_TAG[0]: STAGED_TAG[1]}}
    assert _block(staged, "expiration")["days"] * 86_400 == STAGED_TTL_S


def test_uploads_notify_the_job_queue():
    notification = tf().resource("aws_s3_bucket_notification", "uploads")
    assert notification["bucket"] == "${aws_s3_bucket.data.id}"
    queue = _block(notification, "queue")
    assert queue["queue_arn"] == JOBS_QUEUE
    assert queue["events"] == ["s3:ObjectCreated:*"]
    assert queue["filter_prefix"] == "${local.uploads_prefix}"
    # S3 verifies it may send when the notification is created
    assert [_bare(d) for d in notification["depends_on"]] == ["aws_sqs_queue_policy.jobs"]


# --------------------------------------------------------------------------- IAM


def test_runner_may_only_work_its_queue_read_uploads_and_write_results():
    t = tf()
    statements = t.data[("aws_iam_policy_document", "runner_task")]["statement"]
    uploads, results = f"{BUCKET}/${{local.uploads_prefix}}*", f"{BUCKET}/${{local.results_prefix}}*"
    queue_actions = {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",  # re-sends a waiting message whose receives are spent
    }
    dead_letters = "${aws_sqs_queue.dead_letter.arn}"
    assert _grants(statements) == (
        {(a, JOBS_QUEUE) for a in queue_actions}
        | {("sqs:SendMessage", dead_letters), ("sqs:GetQueueUrl", dead_letters)}  # parks given-up runs
        | {
            ("s3:GetObject", uploads),
            ("s3:PutObject", results),
            ("s3:GetObject", results),
        }  # completion marker
        | {("s3:ListBucket", BUCKET)}
        | {("kms:Decrypt", KMS_KEY), ("kms:GenerateDataKey", KMS_KEY)}
        | {("ses:SendEmail", "arn:${local.partition}:ses:${local.region}:${local.account_id}:identity/*")}
    )
    by_sid = _statements_by_sid(statements)
    assert _conditions(by_sid["BucketKeyViaS3"]) == {"kms:ViaService": ("StringEquals", [S3_VIA])}
    # listing only under results/, so a missing completion marker reads as 404, and nothing else is listed
    assert _conditions(by_sid["ListResults"]) == {"s3:prefix": ("StringLike", ["${local.results_prefix}*"])}
    for s in statements:
        if not s["actions"][0].startswith("kms:") and s["sid"] != "ListResults":
            assert "condition" not in s  # the resource itself is the restriction


def test_reports_read_results_and_the_portal_writes_only_uploads():
    t = tf()
    statements = t.data[("aws_iam_policy_document", "reports_task")]["statement"]
    results = f"{BUCKET}/${{local.results_prefix}}*"
    uploads = f"{BUCKET}/${{local.uploads_prefix}}*"
    staging = f"{BUCKET}/${{local.uploads_prefix}}*/portal/*"
    assert _grants(statements) == {
        ("s3:GetObject", results),
        ("s3:PutObject", uploads),
        ("s3:GetObject", uploads),
        ("s3:DeleteObject", staging),
        ("s3:AbortMultipartUpload", staging),
        ("s3:PutObjectTagging", staging),  # the tag that expires a staged file after a day
        ("s3:ListBucket", BUCKET),  # under uploads/ only: a tenant's upload bytes per day
        ("sqs:SendMessage", "${aws_sqs_queue.jobs.arn}"),
        ("kms:Decrypt", KMS_KEY),
        ("kms:GenerateDataKey", KMS_KEY),
    }
    by_sid = _statements_by_sid(statements)
    assert _conditions(by_sid["BucketKeyViaS3"]) == {"kms:ViaService": ("StringEquals", [S3_VIA])}
    assert "condition" not in by_sid["ReadResults"]
    assert _conditions(by_sid["CountUploads"]) == {"s3:prefix": ("StringLike", ["${local.uploads_prefix}*"])}


def test_task_roles_carry_only_their_own_policy():
    t = tf()
    attached: dict[str, list[str]] = {}
    for rtype in (
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_iam_policy_attachment",
        "aws_iam_role_policies_exclusive",
    ):
        for name, body in t.of_type(rtype).items():
            roles = body.get("roles", []) + [body.get("role", "")]
            for role in roles:
                m = re.match(r"\$\{aws_iam_role\.(\w+)", role or "")
                if m:
                    attached.setdefault(m.group(1), []).append(f"{rtype}.{name}")
    assert attached["runner_task"] == ["aws_iam_role_policy.runner_task"]
    assert attached["reports_task"] == ["aws_iam_role_policy.reports_task"]
    assert (
        t.resource("aws_iam_role_policy", "runner_task")["policy"]
        == "${data.aws_iam_policy_document.runner_task.json}"
    )
    assert (
        t.resource("aws_iam_role_policy", "reports_task")["policy"]
        == "${data.aws_iam_policy_document.reports_task.json}"
    )
    for role in ("runner_task", "reports_task"):
        assert "managed_policy_arns" not in t.resource("aws_iam_role", role)
    assert (
        t.resource("aws_ecs_task_definition", "runner")["task_role_arn"] == "${aws_iam_role.runner_task.arn}"
    )
    assert (
        t.resource("aws_ecs_task_definition", "reports")["task_role_arn"]
        == "${aws_iam_role.reports_task.arn}"
    )


def test_execution_roles_pull_own_image_read_own_secrets_write_own_logs():
    t = tf()
    doc = t.data[("aws_iam_policy_document", "execution")]
    assert doc["for_each"] == "${local.service_secrets}"
    by_sid = _statements_by_sid(doc["statement"])
    assert set(by_sid) == {
        "RegistryLogin",
        "PullOwnImage",
        "WriteOwnLogs",
        "ReadOwnSecrets",
        "SecretKeyViaSecretsManager",
    }
    # the only "*": ecr:GetAuthorizationToken has no resource-level permissions
    assert by_sid["RegistryLogin"]["actions"] == ["ecr:GetAuthorizationToken"]
    stars = [s["sid"] for s in doc["statement"] if "*" in s["resources"]]
    assert stars == ["RegistryLogin"]
    assert by_sid["PullOwnImage"]["resources"] == ["${aws_ecr_repository.images[each.key].arn}"]
    assert by_sid["WriteOwnLogs"]["resources"] == ["${local.service_log_groups[each.key]}:*"]
    assert by_sid["ReadOwnSecrets"]["actions"] == ["secretsmanager:GetSecretValue"]
    assert by_sid["ReadOwnSecrets"]["resources"] == "${sort(distinct(values(each.value)))}"
    assert _conditions(by_sid["SecretKeyViaSecretsManager"]) == {
        "kms:ViaService": ("StringEquals", ["secretsmanager.${local.region}.amazonaws.com"])
    }
    for service in ("runner", "reports"):
        task = t.resource("aws_ecs_task_definition", service)
        assert task["execution_role_arn"] == f'${{aws_iam_role.execution["{service}"].arn}}'
        assert task["execution_role_arn"] != task["task_role_arn"]


# --------------------------------------------------------------------------- containers on ECS


def _settings_env_names() -> set[str]:
    return {f.validation_alias for f in Settings.model_fields.values()}


def test_containers_get_the_settings_they_need():
    t = tf()
    env, secrets = t.locals["service_environment"], t.locals["service_secrets"]
    assert set(env["runner"]) == {
        "AWS_DEFAULT_REGION",
        "RETAINWISE_QUEUE_URL",
        "RETAINWISE_BUCKET",
        "RETAINWISE_REPORT_URL",
        "RETAINWISE_HOME",
        "RETAINWISE_RUN_TIMEOUT",
        "RETAINWISE_VISIBILITY_TIMEOUT",
        "RETAINWISE_STOP_GRACE",
    }
    assert set(env["reports"]) == {
        "AWS_DEFAULT_REGION",
        "RETAINWISE_BUCKET",
        "RETAINWISE_REPORT_URL",
        "RETAINWISE_HOME",
    }
    for service in ("runner", "reports"):
        assert secrets[service] == {
            "RETAINWISE_DATABASE_URL": "${aws_secretsmanager_secret.database_url.arn}",
            "RETAINWISE_SECRET": "${aws_secretsmanager_secret.link_secret.arn}",
        }
        # every name is a setting the package reads (a typo would silently be ignored)
        assert set(env[service]) | set(secrets[service]) <= _settings_env_names()
        # secrets never travel as plain environment values
        assert not set(env[service]) & set(secrets[service])
    assert env["runner"]["RETAINWISE_QUEUE_URL"] == "${aws_sqs_queue.jobs.id}"
    assert env["runner"]["RETAINWISE_BUCKET"] == "${aws_s3_bucket.data.id}"
    url = t.resource("aws_secretsmanager_secret_version", "database_url")["secret_string"]
    assert url.startswith("postgresql+psycopg://") and url.endswith("?sslmode=require")
    params = {p["name"]: p["value"] for p in t.resource("aws_db_parameter_group", "runs")["parameter"]}
    assert params["rds.force_ssl"] == "1"


def test_task_definitions_use_the_image_command_and_its_health_check():
    t = tf()
    for service in ("runner", "reports"):
        container = t.locals[f"{service}_container"]
        task = t.resource("aws_ecs_task_definition", service)
        assert task["container_definitions"] == f"${{jsonencode([local.{service}_container])}}"
        assert "command" not in container and "entryPoint" not in container, (
            "the image's CMD is the single definition of the command"
        )
        assert (
            container["environment"]
            == f"${{[for k, v in local.service_environment.{service} : {{name = k, value = v}}]}}"
        )
        assert (
            container["secrets"]
            == f"${{[for k, v in local.service_secrets.{service} : {{name = k, valueFrom = v}}]}}"
        )
        assert container["healthCheck"]["command"] == f"${{local.health_commands.{service}}}"
        # ECS runs only the task definition's health check: it must be the image's one
        assert t.locals["health_commands"][service] == ["CMD", *_dockerfile(service)["HEALTHCHECK"]]
        assert container["readonlyRootFilesystem"] is True
        assert {m["containerPath"] for m in container["mountPoints"]} == {"${local.container_home}", "/tmp"}
    assert t.locals["reports_container"]["portMappings"][0]["containerPort"] == entrypoints.REPORTS_PORT


def test_container_home_matches_the_images():
    t = tf()
    for service in ("runner", "reports"):
        image = _dockerfile(service)
        assert image["ENV"]["HOME"] == t.locals["container_home"]
        assert image["ENV"]["RETAINWISE_HOME"] == t.locals["retainwise_home"]
        assert t.locals["retainwise_home"].startswith(t.locals["container_home"] + "/")
        assert t.locals["service_environment"][service]["RETAINWISE_HOME"] == "${local.retainwise_home}"


def test_runner_autoscales_on_queue_depth_down_to_zero():
    t = tf()
    target = t.resource("aws_appautoscaling_target", "runner")
    assert target["min_capacity"] == "${var.runner_min_count}" and t.default("runner_min_count") == 0
    assert target["max_capacity"] == "${var.runner_max_count}"
    service = t.resource("aws_ecs_service", "runner")
    # autoscaling owns the count: an apply must not reset it
    assert [_bare(x) for x in _block(service, "lifecycle")["ignore_changes"]] == ["desired_count"]

    backlog = t.resource("aws_cloudwatch_metric_alarm", "queue_backlog")
    assert backlog["namespace"] == "AWS/SQS"
    assert backlog["metric_name"] == "ApproximateNumberOfMessagesVisible"
    assert backlog["dimensions"] == {"QueueName": "${aws_sqs_queue.jobs.name}"}
    assert backlog["alarm_actions"] == ["${aws_appautoscaling_policy.runner_out.arn}"]
    out = _block(t.resource("aws_appautoscaling_policy", "runner_out"), "step_scaling_policy_configuration")
    assert out["adjustment_type"] == "ChangeInCapacity"
    assert all(step["scaling_adjustment"] > 0 for step in out["step_adjustment"])

    idle = t.resource("aws_cloudwatch_metric_alarm", "queue_idle")
    queries = {q["id"]: q for q in idle["metric_query"]}
    assert queries["work"]["expression"] == "visible + inflight"
    assert _block(queries["visible"], "metric")["metric_name"] == "ApproximateNumberOfMessagesVisible"
    assert _block(queries["inflight"], "metric")["metric_name"] == "ApproximateNumberOfMessagesNotVisible"
    assert idle["alarm_actions"] == ["${aws_appautoscaling_policy.runner_in.arn}"]
    scale_in = _block(
        t.resource("aws_appautoscaling_policy", "runner_in"), "step_scaling_policy_configuration"
    )
    assert scale_in["adjustment_type"] == "ExactCapacity"
    assert [s["scaling_adjustment"] for s in scale_in["step_adjustment"]] == ["${var.runner_min_count}"]


def test_reports_are_served_over_https_behind_the_load_balancer():
    t = tf()
    lb = t.resource("aws_lb", "reports")
    assert lb["internal"] is False and lb["drop_invalid_header_fields"] is True
    https = t.resource("aws_lb_listener", "https")
    assert (https["port"], https["protocol"]) == (443, "HTTPS")
    assert https["certificate_arn"] == "${var.certificate_arn}"
    assert https["ssl_policy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    http = t.resource("aws_lb_listener", "http_redirect")
    action = _block(http, "default_action")
    assert action["type"] == "redirect" and _block(action, "redirect")["protocol"] == "HTTPS"
    group = t.resource("aws_lb_target_group", "reports")
    assert group["port"] == entrypoints.REPORTS_PORT
    assert _block(group, "stickiness")["enabled"] is True  # a report's kernel lives in one task
    service = t.resource("aws_ecs_service", "reports")
    assert _block(service, "load_balancer")["container_port"] == entrypoints.REPORTS_PORT
    for name in ("runner", "reports"):
        network = _block(t.resource("aws_ecs_service", name), "network_configuration")
        assert network["assign_public_ip"] is False
        assert network["subnets"] == "${var.private_subnet_ids}"
    assert t.resource("aws_wafv2_web_acl_association", "reports")["resource_arn"] == "${aws_lb.reports.arn}"


def test_database_is_encrypted_and_private():
    t = tf()
    db = t.resource("aws_db_instance", "runs")
    assert db["engine"] == "postgres"
    assert db["storage_encrypted"] is True and db["kms_key_id"] == KMS_KEY
    assert db["publicly_accessible"] is False
    assert t.resource("aws_db_subnet_group", "runs")["subnet_ids"] == "${var.private_subnet_ids}"
    ingress = t.of_type("aws_vpc_security_group_ingress_rule")
    to_db = [r for r in ingress.values() if r["security_group_id"] == "${aws_security_group.database.id}"]
    assert to_db and all("cidr_ipv4" not in r for r in to_db)  # only the services' security groups


def test_log_groups_keep_logs_encrypted_for_a_year():
    t = tf()
    groups = t.of_type("aws_cloudwatch_log_group")
    assert {"runner", "reports"} <= set(groups)
    for name, group in groups.items():
        assert group["retention_in_days"] == "${var.log_retention_days}", name
        assert group["kms_key_id"] == KMS_KEY, name
    assert t.default("log_retention_days") >= 365


def test_alarms_watch_dead_letters_waiting_uploads_and_runner_errors():
    t = tf()
    topic = ["${aws_sns_topic.alarms.arn}"]
    dlq = t.resource("aws_cloudwatch_metric_alarm", "dead_letters")
    assert dlq["dimensions"] == {"QueueName": "${aws_sqs_queue.dead_letter.name}"}
    assert (dlq["metric_name"], dlq["comparison_operator"], dlq["threshold"]) == (
        "ApproximateNumberOfMessagesVisible",
        "GreaterThanThreshold",
        0,
    )
    oldest = t.resource("aws_cloudwatch_metric_alarm", "oldest_message")
    assert oldest["dimensions"] == {"QueueName": "${aws_sqs_queue.jobs.name}"}
    assert oldest["metric_name"] == "ApproximateAgeOfOldestMessage"
    assert oldest["threshold"] == "${var.oldest_message_alarm_seconds}"
    errors = t.resource("aws_cloudwatch_metric_alarm", "runner_errors")
    metric = _block(t.resource("aws_cloudwatch_log_metric_filter", "runner_errors"), "metric_transformation")
    assert (errors["namespace"], errors["metric_name"]) == (metric["namespace"], metric["name"])
    assert (
        t.resource("aws_cloudwatch_log_metric_filter", "runner_errors")["log_group_name"]
        == "${aws_cloudwatch_log_group.runner.name}"
    )
    for alarm in (dlq, oldest, errors):
        assert alarm["alarm_actions"] == topic


_TERM = r'\(\s*\$\.(\w+)\s*=\s*"([^"]*)"\s*\)'


def _filter_matches(pattern: str, record: dict) -> bool:
    """Evaluate a CloudWatch JSON filter made only of ``($.key = "value")`` terms joined by ``||``."""
    assert re.fullmatch(r"\{\s*" + _TERM + r"(\s*\|\|\s*" + _TERM + r")*\s*\}", pattern), pattern
    return any(record.get(key) == value for key, value in re.findall(_TERM, pattern))


def test_runner_error_filter_matches_the_runner_log_format():
    pattern = tf().resource("aws_cloudwatch_log_metric_filter", "runner_errors")["pattern"]
    stream = io.StringIO()
    log = EventLog(stream, worker="w1")
    log("run_failed", level="error", run_id="r1", error="InputError")
    log("run_failed", run_id="r2")  # a failed run counts whatever its level
    log("storage_unreachable", level="error")
    log("run_completed", run_id="r3")
    log("run_retry", level="warning", run_id="r4")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [_filter_matches(pattern, r) for r in records] == [True, True, True, False, False]


def _json_filter(pattern: str, record: dict) -> bool:
    """Evaluate a CloudWatch JSON filter of ``($.key = "value")`` terms joined by ``&&`` within ``||``."""
    body = pattern.strip()
    assert body.startswith("{") and body.endswith("}"), pattern
    alternatives = []
    for alternative in body[1:-1].split("||"):
        terms = [
            re.fullmatch(r'\s*\(?\s*\$\.(\w+)\s*=\s*"([^"]*)"\s*\)?\s*', t) for t in alternative.split("&&")
        ]
        assert all(terms), pattern
        alternatives.append(all(record.get(m.group(1)) == m.group(2) for m in terms))
    return any(alternatives)


def _security_lines() -> list[dict]:
    """The lines retainwise.platform.events writes, one per kind, as a log stream holds them."""
    import logging

    from retainwise.platform.events import KINDS, security_event

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("retainwise.security")
    logger.addHandler(handler)
    try:
        for kind in KINDS:
            security_event(kind, tenant="acme", token="never-logged")
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in lines]


SECURITY_FILTERS = {  # filter -> (metric, the kinds it counts)
    "security_events": ("SecurityEvents", {"link_refused", "upload_refused", "limit_hit"}),
    "links_refused": ("LinksRefused", {"link_refused"}),
    "uploads_refused": ("UploadsRefused", {"upload_refused"}),
    "limit_hits": ("LimitHits", {"limit_hit"}),
}


def test_security_event_filters_count_the_lines_events_py_writes_in_both_services():
    t = tf()
    assert t.locals["service_log_groups"] == {
        "runner": "${aws_cloudwatch_log_group.runner.name}",
        "reports": "${aws_cloudwatch_log_group.reports.name}",
    }
    events = _security_lines()
    stream = io.StringIO()
    EventLog(stream, component="runner")("run_failed", level="error", run_id="r1")
    runner_line = json.loads(stream.getvalue())
    for name, (metric, kinds) in SECURITY_FILTERS.items():
        f = t.resource("aws_cloudwatch_log_metric_filter", name)
        assert f["for_each"] == "${local.service_log_groups}" and f["log_group_name"] == "${each.value}"
        counted = {e["kind"] for e in events if _json_filter(f["pattern"], e)}
        assert counted == kinds, name
        assert not _json_filter(f["pattern"], runner_line)
        transform = _block(f, "metric_transformation")
        assert (transform["name"], transform["namespace"]) == (metric, "${local.metrics_namespace}")
    from retainwise.platform.events import KINDS

    assert set(KINDS) == SECURITY_FILTERS["security_events"][1]


def test_security_alarms_page_on_a_burst_of_each_kind():
    t = tf()
    alarm = t.resource("aws_cloudwatch_metric_alarm", "security")
    assert alarm["for_each"] == "${local.security_alarm_threshold}"
    thresholds = t.locals["security_alarm_threshold"]
    assert set(thresholds) == {metric for metric, _ in SECURITY_FILTERS.values()}
    assert all(isinstance(v, int) and v > 0 for v in thresholds.values())
    assert (alarm["namespace"], alarm["metric_name"], alarm["threshold"]) == (
        "${local.metrics_namespace}",
        "${each.key}",
        "${each.value}",
    )
    assert (alarm["statistic"], alarm["period"], alarm["comparison_operator"]) == (
        "Sum",
        300,
        "GreaterThanThreshold",
    )
    assert alarm["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"]
    assert t.locals["metrics_namespace"] == "RetainWise/${local.prefix}"


def test_failed_run_share_alarm_counts_the_runner_s_run_lines():
    t = tf()
    stream = io.StringIO()
    log = EventLog(stream, component="runner")
    log("run_failed", level="error", run_id="r1")
    log("run_completed", run_id="r2", rows=400, seconds=3.0)
    log("run_retry", level="warning", run_id="r3")
    failed, completed, retry = (json.loads(line) for line in stream.getvalue().splitlines())
    filters = {}
    for name, line in (("runs_failed", failed), ("runs_completed", completed)):
        f = t.resource("aws_cloudwatch_log_metric_filter", name)
        assert f["log_group_name"] == "${aws_cloudwatch_log_group.runner.name}"
        assert [_json_filter(f["pattern"], r) for r in (failed, completed, retry)] == [
            r is line for r in (failed, completed, retry)
        ]
        filters[_block(f, "metric_transformation")["name"]] = _block(f, "metric_transformation")["namespace"]
    alarm = t.resource("aws_cloudwatch_metric_alarm", "failed_run_share")
    queries = {q["id"]: q for q in alarm["metric_query"]}
    assert queries["share"]["return_data"] is True
    assert queries["share"]["expression"] == "IF(failed + completed >= 5, failed / (failed + completed), 0)"
    for qid, metric in (("failed", "RunsFailed"), ("completed", "RunsCompleted")):
        m = _block(queries[qid], "metric")
        assert (m["metric_name"], m["namespace"], m["stat"]) == (metric, filters[metric], "Sum")
    assert alarm["threshold"] == 0.5 and alarm["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"]


# --------------------------------------------------------------------------- the container files


def _dockerfile_lines(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def _exec_form(args: str, what: str) -> list[str]:
    assert args.startswith("["), f"{what} must use the exec form (JSON array), not {args!r}"
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


@cache
def _dockerfile(service: str) -> dict:
    path = DOCKER / f"{service}.Dockerfile"
    lines = _dockerfile_lines(path)
    froms = [args for ins, args in lines if ins == "FROM"]
    last_from = max(i for i, (ins, _) in enumerate(lines) if ins == "FROM")
    final = lines[last_from:]  # the stage that becomes the image
    info: dict = {
        "FROM": froms,
        "ENV": {},
        "USER": None,
        "ENTRYPOINT": [],
        "CMD": None,
        "HEALTHCHECK": None,
        "EXPOSE": [],
    }
    for ins, args in final:
        if ins == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                info["ENV"][key] = value
        elif ins == "USER":
            info["USER"] = args
        elif ins in ("ENTRYPOINT", "CMD"):
            info[ins] = _exec_form(args, f"{path.name} {ins}")
        elif ins == "HEALTHCHECK":
            options, _, command = args.partition(" CMD ")
            info["HEALTHCHECK"] = _exec_form(command.strip(), f"{path.name} HEALTHCHECK")
            info["HEALTHCHECK_OPTIONS"] = options
        elif ins == "EXPOSE":
            info["EXPOSE"] += args.split()
    return info


@pytest.mark.parametrize(
    ("service", "command"), [("runner", entrypoints.WORKER), ("reports", entrypoints.REPORTS)]
)
def test_container_runs_the_same_entrypoint_as_the_local_tests(service, command):
    image = _dockerfile(service)
    assert image["CMD"] is not None, f"{service}.Dockerfile has no CMD"
    assert image["ENTRYPOINT"] + image["CMD"] == command


def test_reports_container_exposes_the_report_port_on_all_interfaces():
    image = _dockerfile("reports")
    assert image["EXPOSE"] == [str(entrypoints.REPORTS_PORT)]
    # the report server binds loopback by default; behind the load balancer it must not
    assert image["ENV"]["RETAINWISE_REPORT_IP"] == "0.0.0.0"
    assert Settings.model_fields["report_ip"].validation_alias == "RETAINWISE_REPORT_IP"
    assert f":{entrypoints.REPORTS_PORT}/" in _run_healthcheck_source_constant("REPORTS_URL")


@pytest.mark.parametrize("service", ["runner", "reports"])
def test_container_is_pinned_non_root_and_health_checked(service):
    image = _dockerfile(service)
    for base in image["FROM"]:
        ref = base.split()[0]
        name, _, tag = ref.partition(":")
        assert re.fullmatch(r"\d+\.\d+\.\d+(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?", tag), (
            f"{service}: base {ref!r} is not pinned to an exact release"
        )
    user = image["USER"]
    assert user and user.split(":")[0] not in ("0", "root"), f"{service} runs as root"
    assert image["HEALTHCHECK"][:2] == ["python", "/opt/retainwise/healthcheck.py"]
    assert "--start-period=" in image["HEALTHCHECK_OPTIONS"]
    text = (DOCKER / f"{service}.Dockerfile").read_text(encoding="utf-8")
    assert "COPY infra/docker/healthcheck.py /opt/retainwise/healthcheck.py" in text
    ignore = (DOCKER / f"{service}.Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "!infra/docker/healthcheck.py" in ignore


def test_runner_health_check_is_the_heartbeat_within_120_seconds():
    assert _dockerfile("runner")["HEALTHCHECK"][2:] == ["heartbeat"]
    assert _run_healthcheck_source_constant("HEARTBEAT_MAX_AGE_S") == "120.0"
    assert _run_healthcheck_source_constant("HEARTBEAT_FILE") == "worker.heartbeat"


def _run_healthcheck_source_constant(name: str) -> str:
    m = re.search(rf"^{name}\s*=\s*(.+)$", HEALTHCHECK.read_text(encoding="utf-8"), re.M)
    assert m, name
    return m.group(1).strip().strip('"')


def _build_context(service: str, dest: Path) -> Path:
    """Copy what ``<service>.Dockerfile.dockerignore`` lets into the build context (its ``!`` entries)."""
    ignore = (DOCKER / f"{service}.Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignore[[i for i, line in enumerate(ignore) if line and not line.startswith("#")][0]] == "*"
    junk = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    for entry in (line[1:].rstrip("/") for line in ignore if line.startswith("!")):
        src, target = ROOT / entry, dest / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=junk)
        else:
            shutil.copy2(src, target)
    return dest


_INSTALLED_CHECK = """
import json, os, sys
import retainwise, runner
from retainwise.platform import entrypoints
from retainwise.execution.execute import notebook_path
from retainwise.execution.static_report import templates_dir
model_dir = os.path.join(os.path.dirname(retainwise.__file__), "model")
print(json.dumps({
    "package": retainwise.__file__,
    "runner": runner.__file__,
    "notebook": os.path.isfile(notebook_path("report.ipynb")),
    "templates": sorted(os.listdir(templates_dir())),
    "model": sorted(os.listdir(model_dir)) if os.path.isdir(model_dir) else [],
    "console_script": os.path.isfile(os.path.join(os.path.dirname(sys.executable), entrypoints.WORKER[0])),
}))
"""


def _venv_seeing_these_dependencies(venv: Path) -> Path:
    """A new venv whose dependencies are this interpreter's, whatever kind of environment that is.

    `--system-site-packages` would hand it the *base* interpreter's packages, which inside a virtualenv
    lack everything the project needs; instead this environment's site directories are appended to the
    new venv's path by a .pth file (plain paths: their own .pth files, such as this checkout's editable
    install, are not processed), so the package itself can only come from what is installed into it.
    """
    import site

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    ours = [
        d for d in dict.fromkeys([*site.getsitepackages(), site.getusersitepackages()]) if os.path.isdir(d)
    ]
    Path(purelib, "_dependencies_under_test.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    return python


@pytest.mark.slow
def test_image_install_ships_the_notebooks_templates_and_model(tmp_path):
    """The Dockerfiles' `pip install ".[postgres]"` of their build context, without Docker.

    A regular (non-editable) install of exactly the files the .dockerignore admits must find the
    report notebook, the templates and the model from site-packages, as the containers will.
    """
    context = _build_context("runner", tmp_path / "context")
    assert _build_context("reports", tmp_path / "context-reports") and sorted(
        p.relative_to(tmp_path / "context-reports").as_posix()
        for p in (tmp_path / "context-reports").rglob("*")
    ) == sorted(p.relative_to(context).as_posix() for p in context.rglob("*"))
    venv = tmp_path / "venv"
    python = _venv_seeing_these_dependencies(venv)
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--disable-pip-version-check",
            f"{context}[postgres]",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RETAINWISE_HOME")}
    check = subprocess.run(
        [str(python), "-c", _INSTALLED_CHECK],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr[-3000:]
    found = json.loads(check.stdout.strip().splitlines()[-1])
    site = str(venv)
    assert found["package"].startswith(site) and found["runner"].startswith(site), found
    assert found["notebook"] and found["console_script"], found
    assert "voila" in found["templates"], found
    shipped = sorted(p.name for p in (ROOT / "retainwise" / "model").iterdir() if p.is_file())
    assert shipped and found["model"] == shipped, found


# --------------------------------------------------------------------------- the health check, executed


def _healthcheck(*args: str, home: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RETAINWISE_HOME"}
    if home is not None:
        env["RETAINWISE_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_heartbeat_check_passes_fresh_and_fails_stale_or_missing(tmp_path):
    missing = _healthcheck("heartbeat", home=tmp_path)
    assert missing.returncode == 1 and "no heartbeat" in missing.stderr

    beat = tmp_path / "worker.heartbeat"
    beat.touch()
    fresh = _healthcheck("heartbeat", home=tmp_path)
    assert fresh.returncode == 0, fresh.stderr

    now = time.time()
    os.utime(beat, (now - 100, now - 100))  # three missed beats: still healthy
    assert _healthcheck("heartbeat", home=tmp_path).returncode == 0
    os.utime(beat, (now - 130, now - 130))
    stale = _healthcheck("heartbeat", home=tmp_path)
    assert stale.returncode == 1 and "old" in stale.stderr


class _Status(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.paths.append(self.path)
        self.send_response(self.status)
        if self.status in (301, 302, 303, 307):
            self.send_header("Location", "/login")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def _serve(status: int) -> ThreadingHTTPServer:
    handler = type("Handler", (_Status,), {"status": status, "paths": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_http_check_passes_a_serving_voila_and_fails_errors_and_silence():
    ok, broken = _serve(200), _serve(503)
    try:
        up = _healthcheck("http", f"http://127.0.0.1:{ok.server_address[1]}/")
        assert up.returncode == 0, up.stderr
        down = _healthcheck("http", f"http://127.0.0.1:{broken.server_address[1]}/")
        assert down.returncode == 1 and "503" in down.stderr
        port = ok.server_address[1]
    finally:
        ok.shutdown(), broken.shutdown()
        ok.server_close(), broken.server_close()
    silent = _healthcheck("http", f"http://127.0.0.1:{port}/")
    assert silent.returncode == 1 and "unreachable" in silent.stderr


def test_http_check_asks_the_health_page_on_the_servers_port_and_takes_only_a_200(monkeypatch):
    ok, moved = _serve(200), _serve(302)
    try:
        monkeypatch.setenv("RETAINWISE_REPORT_PORT", str(ok.server_address[1]))
        up = _healthcheck("http")  # no URL: the default, on the port the server was given
        assert up.returncode == 0, up.stderr
        assert ok.RequestHandlerClass.paths == ["/healthz"]
        redirected = _healthcheck("http", f"http://127.0.0.1:{moved.server_address[1]}/healthz")
        assert redirected.returncode == 1 and "302" in redirected.stderr  # not followed to a login page
    finally:
        ok.shutdown(), moved.shutdown()
        ok.server_close(), moved.server_close()


def test_load_balancer_and_container_check_the_report_servers_health_page():
    from retainwise.reports.guards import HEALTH_ROUTE

    check = _block(tf().resource("aws_lb_target_group", "reports"), "health_check")
    assert (check["path"], str(check["matcher"])) == (HEALTH_ROUTE, "200")  # `/` answers 403 without a token
    assert _run_healthcheck_source_constant("REPORTS_URL") == (
        f"http://127.0.0.1:{entrypoints.REPORTS_PORT}{HEALTH_ROUTE}"
    )
    port = Settings.model_fields["report_port"].validation_alias
    assert _run_healthcheck_source_constant("PORT_VARIABLE") == port
    assert _dockerfile("reports")["HEALTHCHECK"][2:] == ["http"]
    assert tf().locals["health_commands"]["runner"][2:] == ["/opt/retainwise/healthcheck.py", "heartbeat"]


def test_load_balancer_access_logs_are_off_and_the_web_acl_log_redacts_tokens():
    # a link's first request carries its token in the query string, which ALB access logs cannot redact
    assert _block(tf().resource("aws_lb", "reports"), "access_logs")["enabled"] is False
    waf_log = tf().resource("aws_wafv2_web_acl_logging_configuration", "reports")
    redacted = waf_log["redacted_fields"]
    assert any("query_string" in r for r in redacted)
    assert any(
        r.get("single_header", [{}])[0].get("name") == "cookie" for r in redacted if "single_header" in r
    )


def test_healthcheck_refuses_an_unknown_mode():
    assert _healthcheck("bogus").returncode == 2


# --------------------------------------------------------------------------- checkov


_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def test_every_checkov_skip_gives_a_reason():
    skips = []
    for path in sorted(INFRA.rglob("*")):
        if path.is_file() and (path.suffix == ".tf" or path.name.endswith("Dockerfile")):
            for line in path.read_text(encoding="utf-8").splitlines():
                m = _SKIP.search(line)
                if m:
                    skips.append((path.name, m.group(1), (m.group(2) or "").strip()))
    assert skips, "expected the documented skips (e.g. CKV_AWS_145 on the log bucket)"
    for name, check, reason in skips:
        assert re.fullmatch(r"CKV2?_[A-Z]+_\d+", check), (name, check)
        assert len(reason) >= 30, f"{name}: skip of {check} needs a written reason"


def _checkov() -> str:
    exe = os.environ.get("CHECKOV") or shutil.which("checkov")
    if not exe or not Path(exe).is_file():
        pytest.fail(
            'checkov not found: run `export CHECKOV="$(bash .ci/checkov.sh)"` (CI does this in .ci/test.sh)'
        )
    return exe


@pytest.mark.slow
def test_checkov_passes_with_only_reasoned_skips():
    exe = _checkov()
    proc = subprocess.run(
        [
            exe,
            "-d",
            str(INFRA),
            "--framework",
            "terraform",
            "dockerfile",
            "--compact",
            "--skip-download",
            "-o",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_LOG_LEVEL": "ERROR"},
    )
    assert proc.stdout.strip(), f"checkov printed nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    by_type = {r["check_type"]: r for r in reports}
    assert set(by_type) == {"terraform", "dockerfile"}, f"checkov scanned {sorted(by_type)}"
    failed, skipped = [], []
    for r in reports:
        assert r["summary"]["parsing_errors"] == 0, r["check_type"]
        failed += [
            f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
            for c in r["results"]["failed_checks"]
        ]
        skipped += r["results"]["skipped_checks"]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    assert by_type["terraform"]["summary"]["passed"] > 200  # it really scanned the configuration
    assert by_type["terraform"]["summary"]["resource_count"] > 50
    for check in skipped:
        assert len((check.get("check_result") or {}).get("suppress_comment", "") or "") >= 30, check[
            "check_id"
        ]
