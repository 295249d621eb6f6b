"""Read-only look-ups in AWS that the phases use to check reality (boto3, imported lazily).

Each function answers one question (does the state bucket meet the rules? is the cluster
ACTIVE? is the database Multi-AZ?) and translates AWS's failures into the engine's errors:

* throttling and 5xx answers → :class:`TransientError` (the engine retries them);
* no credentials, expired credentials, endpoint unreachable → :class:`Unavailable`
  (a dry-run reports "could not check offline" and carries on);
* anything else (AccessDenied, bad parameters) → :class:`PermanentError` with a hint.

A missing resource is an answer, not an error: the look-ups return None (or list a problem).
``AWS_ENDPOINT_URL`` (or ``endpoint_url``) sends every call to another endpoint — moto in tests.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from runbook.errors import PermanentError, TransientError, Unavailable
from steps.wiring.errors_catalog import TRANSIENT_BOTOCORE, aws_error_reason

if TYPE_CHECKING:
    # boto3-stubs, one package per service the adapters call (the test extra in pyproject.toml).
    # Only the checker reads them: at run time a client is what boto3 builds, and importing
    # these here would add their load time to every start of kyeol.
    from mypy_boto3_accessanalyzer import AccessAnalyzerClient
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import ImageDetailTypeDef
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_elasticache import ElastiCacheClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_elbv2.type_defs import TagDescriptionTypeDef
    from mypy_boto3_guardduty import GuardDutyClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_route53.literals import RRTypeType
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3control import S3ControlClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sts import STSClient
    from mypy_boto3_wafv2 import WAFV2Client
    from mypy_boto3_wafv2.literals import ScopeType

T = TypeVar("T")

_CREDENTIAL_ERRORS = frozenset(
    {
        "NoCredentialsError",
        "PartialCredentialsError",
        "CredentialRetrievalError",
        "NoAuthTokenError",
        "TokenRetrievalError",
        "SSOTokenLoadError",
        "UnauthorizedSSOTokenError",
        "NoRegionError",
    }
)
_REJECTED_CREDENTIAL_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException", "RequestExpired"}
)
_CREDENTIALS_HINT = "configure AWS credentials for the configured account (AWS_PROFILE, or `aws sso login`), then run again"
# A load balancer or target group deleted between listing it and reading its tags.
_GONE_ELBV2 = frozenset({"LoadBalancerNotFound", "TargetGroupNotFound"})
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"  # the fixed hosted zone of every CloudFront alias target


# AWS API operations that only read (by name, as every AWS service names them).
READ_OPERATIONS = re.compile(r"^(Get|List|Describe|Head|Lookup|Search|BatchGet|Query|Scan|Select)[A-Z]")


def refuse_writes(model: Any, **_: Any) -> None:
    """botocore ``before-call`` hook of a read-only session: any operation that is not a read
    is refused before a request is signed or sent (botocore/hooks.py, client.py _make_api_call)."""
    if not READ_OPERATIONS.match(model.name):
        from steps.adapters.process import ReadOnlyRefused

        raise ReadOnlyRefused(f"call AWS {model.service_model.service_name}:{model.name}")


class AwsSession:
    """boto3 clients for one region and one set of credentials (a named profile, or the
    ambient ones), created on first use and shared by the steps of a run."""

    def __init__(
        self, region: str, *, endpoint_url: str | None = None, profile: str | None = None, read_only: bool = False
    ) -> None:
        self.region = region
        self.profile = profile or None
        self.read_only = read_only
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        self._session: Any = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    # -- clients ---------------------------------------------------------------------------

    # One overload per service the adapters call: each call is checked against boto3-stubs.
    # A service not listed here is a type error; add it here and to boto3-stubs' extras.
    @overload
    def client(self, service: Literal["accessanalyzer"], region: str | None = None) -> AccessAnalyzerClient: ...
    @overload
    def client(self, service: Literal["acm"], region: str | None = None) -> ACMClient: ...
    @overload
    def client(self, service: Literal["cloudfront"], region: str | None = None) -> CloudFrontClient: ...
    @overload
    def client(self, service: Literal["cloudtrail"], region: str | None = None) -> CloudTrailClient: ...
    @overload
    def client(self, service: Literal["config"], region: str | None = None) -> ConfigServiceClient: ...
    @overload
    def client(self, service: Literal["dynamodb"], region: str | None = None) -> DynamoDBClient: ...
    @overload
    def client(self, service: Literal["ec2"], region: str | None = None) -> EC2Client: ...
    @overload
    def client(self, service: Literal["ecr"], region: str | None = None) -> ECRClient: ...
    @overload
    def client(self, service: Literal["eks"], region: str | None = None) -> EKSClient: ...
    @overload
    def client(self, service: Literal["elasticache"], region: str | None = None) -> ElastiCacheClient: ...
    @overload
    def client(self, service: Literal["elbv2"], region: str | None = None) -> ElasticLoadBalancingv2Client: ...
    @overload
    def client(self, service: Literal["guardduty"], region: str | None = None) -> GuardDutyClient: ...
    @overload
    def client(self, service: Literal["kms"], region: str | None = None) -> KMSClient: ...
    @overload
    def client(self, service: Literal["rds"], region: str | None = None) -> RDSClient: ...
    @overload
    def client(self, service: Literal["route53"], region: str | None = None) -> Route53Client: ...
    @overload
    def client(self, service: Literal["s3"], region: str | None = None) -> S3Client: ...
    @overload
    def client(self, service: Literal["s3control"], region: str | None = None) -> S3ControlClient: ...
    @overload
    def client(self, service: Literal["secretsmanager"], region: str | None = None) -> SecretsManagerClient: ...
    @overload
    def client(self, service: Literal["sts"], region: str | None = None) -> STSClient: ...
    @overload
    def client(self, service: Literal["wafv2"], region: str | None = None) -> WAFV2Client: ...
    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client (cached per service and region)."""
        region = region or self.region
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                import boto3
                from botocore.config import Config

                if self._session is None:
                    self._session = self._new_session(boto3)
                config = Config(
                    region_name=region,
                    retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=60,
                )
                # AWS_ENDPOINT_URL_<SERVICE> (the SDKs' service-specific endpoint setting) wins
                # over AWS_ENDPOINT_URL, as in the SDKs; passing endpoint_url would bypass it.
                endpoint = os.environ.get("AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")) or self.endpoint_url
                self._clients[key] = self._session.client(service, region_name=region, endpoint_url=endpoint, config=config)
                if self.read_only:
                    self._clients[key].meta.events.register("before-call", refuse_writes)
            return self._clients[key]

    def _new_session(self, boto3: Any) -> Any:
        """A boto3 session for this profile; an unknown profile is a credentials problem."""
        try:
            return boto3.session.Session(profile_name=self.profile)
        except Exception as exc:  # botocore's ProfileNotFound, translated
            if type(exc).__name__ != "ProfileNotFound":
                raise
            raise Unavailable(
                f"the AWS credentials profile {self.profile!r} is not configured here",
                hint="add it to ~/.aws/config (or AWS_CONFIG_FILE), or fix the env's profile in kyeol.toml",
            ) from exc

    # Without ``missing`` no failure becomes None: the answer is the call's own.
    @overload
    def _call(self, what: str, fn: Callable[[], T]) -> T: ...
    @overload
    def _call(self, what: str, fn: Callable[[], T], *, missing: frozenset[str]) -> T | None: ...
    def _call(self, what: str, fn: Callable[[], T], *, missing: frozenset[str] = frozenset()) -> T | None:
        """Run one AWS call; None when it failed with one of the ``missing`` codes."""
        try:
            return fn()
        except (Unavailable, PermanentError, TransientError):
            raise  # already the engine's (e.g. a profile that is not configured)
        except Exception as exc:  # translated below
            if _code(exc) in missing:
                return None
            raise translate(exc, what) from exc

    # -- identity --------------------------------------------------------------------------

    def caller_identity(self) -> dict[str, str]:
        """Account, Arn and UserId of the credentials in use."""
        found = self._call(
            "read the AWS caller identity (sts:GetCallerIdentity)", lambda: self.client("sts").get_caller_identity()
        )
        return {"Account": found["Account"], "Arn": found["Arn"], "UserId": found["UserId"]}

    # -- Terraform state backend (phase 1) ---------------------------------------------------

    def check_state_backend(self, bucket: str, table: str) -> list[str]:
        """What is wrong with the Terraform state bucket and lock table ([] when nothing).

        The rules: the bucket exists, is versioned, encrypted with SSE-KMS and blocks all
        public access; the lock table exists with the LockID string key and is ACTIVE.
        """
        problems: list[str] = []
        s3 = self.client("s3")
        exists = self._call(
            f"look up S3 bucket {bucket}",
            lambda: s3.head_bucket(Bucket=bucket),
            missing=frozenset({"404", "NoSuchBucket", "NotFound"}),
        )
        if exists is None:
            problems.append(f"state bucket {bucket} does not exist")
        else:
            versioning = self._call(f"read versioning of {bucket}", lambda: s3.get_bucket_versioning(Bucket=bucket)) or {}
            if versioning.get("Status") != "Enabled":
                problems.append(f"state bucket {bucket} is not versioned (status {versioning.get('Status', 'never enabled')})")
            encryption = self._call(
                f"read encryption of {bucket}",
                lambda: s3.get_bucket_encryption(Bucket=bucket),
                missing=frozenset({"ServerSideEncryptionConfigurationNotFoundError"}),
            )
            config = encryption.get("ServerSideEncryptionConfiguration") if encryption else None
            defaults = [rule.get("ApplyServerSideEncryptionByDefault") for rule in (config.get("Rules", []) if config else [])]
            algorithms = [default.get("SSEAlgorithm", "") if default else "" for default in defaults]
            if not any(a.startswith("aws:kms") for a in algorithms):
                found = ", ".join(a for a in algorithms if a) or "none"
                problems.append(f"state bucket {bucket} is not encrypted with SSE-KMS (found: {found})")
            block = self._call(
                f"read the public access block of {bucket}",
                lambda: s3.get_public_access_block(Bucket=bucket),
                missing=frozenset({"NoSuchPublicAccessBlockConfiguration"}),
            )
            settings = (block.get("PublicAccessBlockConfiguration") if block else None) or {}
            wanted = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
            open_ = [name for name in wanted if not settings.get(name)]
            if open_:
                problems.append(f"state bucket {bucket} does not block all public access (off: {', '.join(open_)})")
        described = self._call(
            f"describe DynamoDB table {table}",
            lambda: self.client("dynamodb").describe_table(TableName=table),
            missing=frozenset({"ResourceNotFoundException"}),
        )
        if described is None:
            problems.append(f"lock table {table} does not exist")
        else:
            info = described["Table"]
            if info.get("TableStatus") != "ACTIVE":
                problems.append(f"lock table {table} is {info.get('TableStatus')}, not ACTIVE")
            keys = {k["AttributeName"]: k["KeyType"] for k in info.get("KeySchema", [])}
            types = {a["AttributeName"]: a["AttributeType"] for a in info.get("AttributeDefinitions", [])}
            if keys.get("LockID") != "HASH" or types.get("LockID") != "S":
                problems.append(f"lock table {table} has no string hash key LockID (Terraform needs it)")
        return problems

    def state_bucket_kms_key(self, bucket: str) -> str | None:
        """ARN of the customer KMS key the state bucket encrypts with by default, or None when
        it uses the AWS-managed aws/s3 key (or no SSE-KMS at all).

        The other roots' S3 backends pass it as ``kms_key_id`` so that their state objects are
        encrypted with the same key even when this machine did not apply the bootstrap. The
        bucket may name the key by id, ARN or alias; the backend wants the ARN.
        """
        encryption = self._call(
            f"read encryption of {bucket}",
            lambda: self.client("s3").get_bucket_encryption(Bucket=bucket),
            missing=frozenset({"ServerSideEncryptionConfigurationNotFoundError", "NoSuchBucket"}),
        )
        config = encryption.get("ServerSideEncryptionConfiguration") if encryption else None
        for rule in config.get("Rules", []) if config else []:
            default = rule.get("ApplyServerSideEncryptionByDefault")
            if not default:
                continue
            named = default.get("KMSMasterKeyID")
            if default.get("SSEAlgorithm", "").startswith("aws:kms") and named:
                described = self._call(f"describe KMS key {named}", lambda: self.client("kms").describe_key(KeyId=named))
                return str(described["KeyMetadata"]["Arn"])
        return None

    def missing_elastic_ips(self, public_ips: list[str]) -> list[str]:
        """Those of ``public_ips`` that are not (or no longer) Elastic IPs of this account."""
        found = (
            self._call(
                "describe Elastic IPs " + ", ".join(public_ips),
                lambda: self.client("ec2").describe_addresses(Filters=[{"Name": "public-ip", "Values": public_ips}]),
            )
            or {}
        )
        allocated = {a.get("PublicIp") for a in found.get("Addresses", [])}
        return [ip for ip in public_ips if ip not in allocated]

    # -- EKS, RDS, ElastiCache (phases 2-3) ----------------------------------------------------

    def eks_cluster(self, name: str) -> dict[str, Any] | None:
        """Status, endpoint, CA, OIDC issuer and version of an EKS cluster; None if it does not exist."""
        found = self._call(
            f"describe EKS cluster {name}",
            lambda: self.client("eks").describe_cluster(name=name),
            missing=frozenset({"ResourceNotFoundException"}),
        )
        if found is None:
            return None
        c = found["cluster"]
        return {
            "name": c.get("name", name),
            "arn": c.get("arn", ""),
            "status": c.get("status", ""),
            "version": c.get("version", ""),
            "endpoint": c.get("endpoint", ""),
            "certificate_authority_data": (c.get("certificateAuthority") or {}).get("data", ""),
            "oidc_issuer_url": ((c.get("identity") or {}).get("oidc") or {}).get("issuer", ""),
            "endpoint_public_access": bool((c.get("resourcesVpcConfig") or {}).get("endpointPublicAccess")),
            "public_access_cidrs": list((c.get("resourcesVpcConfig") or {}).get("publicAccessCidrs") or []),
        }

    def eks_node_groups(self, cluster: str) -> list[dict[str, Any]]:
        """Name, status and desired size of each managed node group of ``cluster`` ([] if none)."""
        eks = self.client("eks")
        listed = self._call(
            f"list the node groups of EKS cluster {cluster}",
            lambda: eks.list_nodegroups(clusterName=cluster),
            missing=frozenset({"ResourceNotFoundException"}),
        )
        groups = []
        for name in (listed.get("nodegroups") if listed else None) or []:
            found = self._call(
                f"describe node group {name} of {cluster}",
                lambda: eks.describe_nodegroup(clusterName=cluster, nodegroupName=name),
                missing=frozenset({"ResourceNotFoundException"}),
            )
            if found is None:
                continue  # deleted between the listing and the look
            group = found["nodegroup"]
            groups.append(
                {
                    "name": name,
                    "status": group.get("status", ""),
                    "desired": (group.get("scalingConfig") or {}).get("desiredSize"),
                }
            )
        return groups

    def rds_instance(self, instance_id: str) -> dict[str, Any] | None:
        """Status, Multi-AZ, class, engine and endpoint of an RDS instance; None if it does not exist."""
        found = self._call(
            f"describe RDS instance {instance_id}",
            lambda: self.client("rds").describe_db_instances(DBInstanceIdentifier=instance_id),
            missing=frozenset({"DBInstanceNotFound", "DBInstanceNotFoundFault"}),
        )
        if not found or not found.get("DBInstances"):
            return None
        db = found["DBInstances"][0]
        endpoint = db.get("Endpoint") or {}
        return {
            "id": db.get("DBInstanceIdentifier", instance_id),
            "status": db.get("DBInstanceStatus", ""),
            "multi_az": bool(db.get("MultiAZ")),
            "instance_class": db.get("DBInstanceClass", ""),
            "engine": db.get("Engine", ""),
            "engine_version": db.get("EngineVersion", ""),
            "deletion_protection": bool(db.get("DeletionProtection")),
            "endpoint": f"{endpoint['Address']}:{endpoint.get('Port', '')}".rstrip(":") if endpoint.get("Address") else "",
        }

    def replication_group(self, group_id: str) -> dict[str, Any] | None:
        """Status, node count, failover and Multi-AZ of an ElastiCache replication group (Valkey)."""
        found = self._call(
            f"describe ElastiCache replication group {group_id}",
            lambda: self.client("elasticache").describe_replication_groups(ReplicationGroupId=group_id),
            missing=frozenset({"ReplicationGroupNotFoundFault"}),
        )
        if not found or not found.get("ReplicationGroups"):
            return None
        g = found["ReplicationGroups"][0]
        primary = ((g.get("NodeGroups") or [{}])[0].get("PrimaryEndpoint") or {}).get("Address", "")
        return {
            "id": g.get("ReplicationGroupId", group_id),
            "status": g.get("Status", ""),
            "node_count": len(g.get("MemberClusters") or []),
            "automatic_failover": g.get("AutomaticFailover", "disabled") == "enabled",
            "multi_az": g.get("MultiAZ", "disabled") == "enabled",
            "node_type": g.get("CacheNodeType", ""),
            "engine": g.get("Engine", ""),
            "primary_endpoint": primary,
        }

    # -- ECR (phase 7) ------------------------------------------------------------------------

    def image_tags_present(self, repository: str, tags: list[str] | tuple[str, ...]) -> dict[str, bool]:
        """For each wanted tag, whether the ECR repository holds an image with it."""
        ecr = self.client("ecr")
        found: set[str] = set()

        def page() -> list[ImageDetailTypeDef]:
            details: list[ImageDetailTypeDef] = []
            for chunk in ecr.get_paginator("describe_images").paginate(repositoryName=repository, filter={"tagStatus": "TAGGED"}):
                details.extend(chunk.get("imageDetails", []))
            return details

        details = self._call(
            f"list images of ECR repository {repository}", page, missing=frozenset({"RepositoryNotFoundException"})
        )
        if details is None:
            raise PermanentError(
                f"ECR repository {repository} does not exist",
                hint="it is created by the mgmt.registry step (envs/mgmt, module.ecr): run that step first",
            )
        for detail in details:
            found.update(detail.get("imageTags") or [])
        return {tag: tag in found for tag in tags}

    def repositories(self, names: list[str] | tuple[str, ...]) -> dict[str, str | None]:
        """The URI of each named ECR repository (None for the ones that do not exist)."""
        ecr = self.client("ecr")
        result: dict[str, str | None] = {}
        for name in names:
            found = self._call(
                f"describe ECR repository {name}",
                lambda: ecr.describe_repositories(repositoryNames=[name]),
                missing=frozenset({"RepositoryNotFoundException"}),
            )
            repos = (found.get("repositories") if found else None) or []
            result[name] = repos[0]["repositoryUri"] if repos else None
        return result

    # -- ELBv2 (teardown: what the load balancer controller made outside Terraform) -----------

    def tagged_load_balancing(self, tag_key: str, tag_value: str) -> dict[str, list[dict[str, str]]]:
        """ELBv2 load balancers and target groups carrying the tag ``tag_key=tag_value``.

        The AWS Load Balancer Controller tags everything it creates with
        ``elbv2.k8s.aws/cluster=<cluster>``; those ALBs (and their ENIs and security groups)
        are not in any Terraform state and keep a VPC from being deleted. Returns
        ``{"load_balancers": [{"name", "arn"}], "target_groups": [{"name", "arn"}]}``.
        """
        elbv2 = self.client("elbv2")

        def descriptions(arns: list[str]) -> list[TagDescriptionTypeDef]:
            """Their tags; one deleted meanwhile fails the whole call, so then ask one by one."""
            try:
                return list(elbv2.describe_tags(ResourceArns=arns).get("TagDescriptions", []))
            except Exception as exc:  # translated by _call unless the resource is gone
                if _code(exc) not in _GONE_ELBV2:
                    raise
                return [] if len(arns) == 1 else [d for arn in arns for d in descriptions([arn])]

        def matching(items: list[dict[str, str]]) -> list[dict[str, str]]:
            wanted: list[dict[str, str]] = []
            for start in range(0, len(items), 20):  # DescribeTags takes at most 20 ARNs
                batch = items[start : start + 20]
                tagged = {
                    d["ResourceArn"]
                    for d in descriptions([i["arn"] for i in batch])
                    if any(t.get("Key") == tag_key and t.get("Value") == tag_value for t in d.get("Tags", []))
                }
                wanted += [i for i in batch if i["arn"] in tagged]
            return wanted

        def find() -> dict[str, list[dict[str, str]]]:
            # Spelled out per operation (not one helper taking names as strings) so that boto3-stubs
            # check the paginator's and the answer's names.
            balancers = [
                {"name": b.get("LoadBalancerName", ""), "arn": b["LoadBalancerArn"]}
                for page in elbv2.get_paginator("describe_load_balancers").paginate()
                for b in page.get("LoadBalancers", [])
            ]
            groups = [
                {"name": g.get("TargetGroupName", ""), "arn": g["TargetGroupArn"]}
                for page in elbv2.get_paginator("describe_target_groups").paginate()
                for g in page.get("TargetGroups", [])
            ]
            return {"load_balancers": matching(balancers), "target_groups": matching(groups)}

        return self._call(f"list ELBv2 load balancers and target groups tagged {tag_key}={tag_value}", find)

    # -- Secrets Manager (phase 8) -------------------------------------------------------------

    def secret_exists(self, name: str) -> bool:
        """Whether secret ``name`` exists and is not scheduled for deletion (metadata only: the
        value is not read, so a dry-run can ask)."""
        found = self._call(
            f"describe Secrets Manager secret {name}",
            lambda: self.client("secretsmanager").describe_secret(SecretId=name),
            missing=frozenset({"ResourceNotFoundException"}),
        )
        return found is not None and not found.get("DeletedDate")

    def secret_json(self, name: str) -> dict[str, Any] | None:
        """The JSON object in the current version of secret ``name``; None if it does not exist.

        The caller registers every value it takes from the answer with the redactor
        (``ctx.secret``). No error raised here carries the secret string: a value that is not
        a JSON object is reported by its shape only.
        """
        found = self._call(
            f"read Secrets Manager secret {name}",
            lambda: self.client("secretsmanager").get_secret_value(SecretId=name),
            missing=frozenset({"ResourceNotFoundException"}),
        )
        if found is None:
            return None
        raw = found.get("SecretString")
        hint = f"write {name} as a JSON object (the Terraform root that owns it does), then run again"
        if raw is None:
            raise PermanentError(f"Secrets Manager secret {name} holds binary data, not a JSON string", hint=hint)
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
            problem = "is not valid JSON"
        else:
            problem = f"is JSON {type(doc).__name__}, not an object"
        if not isinstance(doc, dict):
            raise PermanentError(f"the value of Secrets Manager secret {name} {problem}", hint=hint)
        return doc

    # -- Route53, CloudFront, ACM, WAFv2 (phases 2, 3 and 9) ----------------------------------

    def find_zone(self, domain: str) -> dict[str, Any] | None:
        """The public hosted zone named exactly ``domain`` (id without /hostedzone/), or None."""
        wanted = domain.rstrip(".") + "."
        found = self._call(
            f"list Route53 zones named {domain}",
            lambda: self.client("route53", "us-east-1").list_hosted_zones_by_name(DNSName=wanted, MaxItems="10"),
        )
        for zone in (found or {}).get("HostedZones", []):
            if zone.get("Name") == wanted and not (zone.get("Config") or {}).get("PrivateZone"):
                return {
                    "id": zone["Id"].rsplit("/", 1)[-1],
                    "name": domain.rstrip("."),
                    "record_count": zone.get("ResourceRecordSetCount", 0),
                }
        return None

    def records_named(self, zone_id: str, names: Iterable[str]) -> list[str]:
        """``"<name> <TYPE>"`` of every record in zone ``zone_id`` named exactly one of ``names``
        (NS and SOA aside): what a DNS controller still publishes for those names."""
        left: list[str] = []
        route53 = self.client("route53", "us-east-1")
        for name in names:
            wanted = name.rstrip(".") + "."
            found = self._call(
                f"read Route53 records {name}",
                lambda: route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=wanted, MaxItems="10"),
                missing=frozenset({"NoSuchHostedZone"}),
            )
            for record in found.get("ResourceRecordSets", []) if found else []:
                if record.get("Name") == wanted and record.get("Type") not in ("NS", "SOA"):
                    left.append(f"{name.rstrip('.')} {record.get('Type')}")
        return left

    def alias_target(self, zone_id: str, name: str, record_type: RRTypeType = "A") -> dict[str, Any] | None:
        """The alias target (DNS name, zone) of record ``name`` in zone ``zone_id``, or None."""
        wanted = name.rstrip(".") + "."
        found = self._call(
            f"read Route53 record {name}",
            lambda: self.client("route53", "us-east-1").list_resource_record_sets(
                HostedZoneId=zone_id, StartRecordName=wanted, StartRecordType=record_type, MaxItems="1"
            ),
            missing=frozenset({"NoSuchHostedZone"}),
        )
        for record in found.get("ResourceRecordSets", []) if found else []:
            if record.get("Name") == wanted and record.get("Type") == record_type and record.get("AliasTarget"):
                target = record["AliasTarget"]
                return {
                    "dns_name": target.get("DNSName", "").rstrip("."),
                    "hosted_zone_id": target.get("HostedZoneId", ""),
                    "is_cloudfront": target.get("HostedZoneId") == CLOUDFRONT_ZONE_ID,
                }
        return None

    def distribution(self, distribution_id: str) -> dict[str, Any] | None:
        """Status, aliases, domain name and web ACL of a CloudFront distribution, or None."""
        found = self._call(
            f"read CloudFront distribution {distribution_id}",
            lambda: self.client("cloudfront", "us-east-1").get_distribution(Id=distribution_id),
            missing=frozenset({"NoSuchDistribution"}),
        )
        if found is None:
            return None
        d = found["Distribution"]
        config = d.get("DistributionConfig") or {}
        aliases = config.get("Aliases")
        return {
            "id": d.get("Id", distribution_id),
            "status": d.get("Status", ""),
            "domain_name": d.get("DomainName", ""),
            "aliases": list((aliases.get("Items") if aliases else None) or []),
            "web_acl_id": config.get("WebACLId", ""),
            "enabled": bool(config.get("Enabled")),
            "certificate_arn": (config.get("ViewerCertificate") or {}).get("ACMCertificateArn", ""),
        }

    def certificate(self, arn: str) -> dict[str, Any] | None:
        """Status, domain and names of an ACM certificate (looked up in the ARN's region), or None."""
        region = _arn_region(arn) or self.region
        found = self._call(
            f"describe ACM certificate {arn}",
            lambda: self.client("acm", region).describe_certificate(CertificateArn=arn),
            missing=frozenset({"ResourceNotFoundException"}),
        )
        if found is None:
            return None
        c = found["Certificate"]
        return {
            "arn": c.get("CertificateArn", arn),
            "status": c.get("Status", ""),
            "domain": c.get("DomainName", ""),
            "names": list(c.get("SubjectAlternativeNames") or []),
            "region": region,
            "in_use_by": list(c.get("InUseBy") or []),
        }

    def web_acl(self, arn: str) -> dict[str, Any] | None:
        """Name, scope and rule names of a WAFv2 web ACL given its ARN, or None."""
        region, scope, name, acl_id = _parse_web_acl_arn(arn)
        found = self._call(
            f"read WAFv2 web ACL {name}",
            lambda: self.client("wafv2", region).get_web_acl(Name=name, Scope=scope, Id=acl_id),
            missing=frozenset({"WAFNonexistentItemException"}),
        )
        if found is None:
            return None
        acl = found["WebACL"]
        return {
            "arn": acl.get("ARN", arn),
            "name": acl.get("Name", name),
            "scope": scope,
            "rules": [r.get("Name", "") for r in acl.get("Rules", [])],
        }


def translate(exc: BaseException, what: str) -> Exception:
    """The engine's error for an AWS failure while trying to ``what``."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _CREDENTIAL_ERRORS:
        return Unavailable(f"could not {what}: no usable AWS credentials ({type(exc).__name__}: {exc})", hint=_CREDENTIALS_HINT)
    if "EndpointConnectionError" in names or "ConnectTimeoutError" in names:
        return Unavailable(
            f"could not {what}: the AWS endpoint is unreachable ({exc})",
            hint="check the network (and AWS_ENDPOINT_URL, if set), then run again",
        )
    if names & TRANSIENT_BOTOCORE:
        # Sent, and the connection dropped or the answer never came (botocore retried already):
        # transient, like a 5xx. A read is simply asked again.
        return TransientError(f"could not {what}: {exc}", reason="aws connection lost")
    code = _code(exc)
    if code in _REJECTED_CREDENTIAL_CODES:
        return Unavailable(f"could not {what}: AWS rejected the credentials ({code})", hint=_CREDENTIALS_HINT)
    reason = aws_error_reason(exc)
    if reason:
        return TransientError(f"could not {what}: {exc}", reason=reason)
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "403"):
        return PermanentError(
            f"could not {what}: access denied ({exc})",
            hint="the credentials in use lack this read permission: use the deployer role of the configured account",
        )
    if code:
        return PermanentError(f"could not {what}: {exc}", hint="see the AWS error code above")
    return PermanentError(
        f"could not {what}: {type(exc).__name__}: {exc}", hint="an unexpected error from the AWS SDK; see the log"
    )


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""


def _arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and arn.startswith("arn:") else ""


def _parse_web_acl_arn(arn: str) -> tuple[str, ScopeType, str, str]:
    """(region, scope, name, id) of arn:aws:wafv2:<region>:<acct>:<global|regional>/webacl/<name>/<id>."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "wafv2":
        raise PermanentError(f"{arn!r} is not a WAFv2 web ACL ARN", hint="check the waf_web_acl_arn output of global/us-east-1")
    kind, _, name, acl_id = (parts[5].split("/") + ["", "", "", ""])[:4]
    scope: ScopeType = "CLOUDFRONT" if kind == "global" else "REGIONAL"
    return parts[3], scope, name, acl_id
