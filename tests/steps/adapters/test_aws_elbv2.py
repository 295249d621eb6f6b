"""AwsSession.tagged_load_balancing against moto: the load balancer controller's ALBs and
target groups of one cluster, found by tag among others, more than one DescribeTags batch."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from steps.adapters.aws import AwsSession

REGION = "ap-northeast-1"
TAG = "elbv2.k8s.aws/cluster"


@pytest.fixture
def client(moto_endpoint: str) -> Any:
    return boto3.client("elbv2", region_name=REGION, endpoint_url=moto_endpoint)


def subnets_and_vpc(endpoint: str) -> tuple[list[str], str]:
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in enumerate("ac")
    ]
    return subnets, vpc


def test_only_what_carries_the_cluster_tag_is_found_across_batches(moto_endpoint: str, client: Any) -> None:
    subnets, vpc = subnets_and_vpc(moto_endpoint)
    wanted_lbs, wanted_tgs = [], []
    for i in range(23):  # more than one DescribeTags call (20 ARNs each)
        cluster = "jung-dev-eks" if i % 3 == 0 else "jung-stage-eks"
        tags = [{"Key": TAG, "Value": cluster}]
        lb = client.create_load_balancer(
            Name=f"lb-{i}", Subnets=subnets, Type="application", Tags=tags if i != 22 else [{"Key": "team", "Value": "x"}]
        )
        tg = client.create_target_group(Name=f"tg-{i}", Protocol="HTTP", Port=80, VpcId=vpc, Tags=tags)
        if cluster == "jung-dev-eks" and i != 22:
            wanted_lbs.append({"name": f"lb-{i}", "arn": lb["LoadBalancers"][0]["LoadBalancerArn"]})
        if cluster == "jung-dev-eks":
            wanted_tgs.append({"name": f"tg-{i}", "arn": tg["TargetGroups"][0]["TargetGroupArn"]})

    found = AwsSession(REGION, endpoint_url=moto_endpoint).tagged_load_balancing(TAG, "jung-dev-eks")
    assert sorted(found["load_balancers"], key=lambda i: i["name"]) == sorted(wanted_lbs, key=lambda i: i["name"])
    assert sorted(found["target_groups"], key=lambda i: i["name"]) == sorted(wanted_tgs, key=lambda i: i["name"])
    assert AwsSession(REGION, endpoint_url=moto_endpoint).tagged_load_balancing(TAG, "jung-prod-eks") == {
        "load_balancers": [],
        "target_groups": [],
    }


def test_a_load_balancer_deleted_between_listing_and_tag_reading_is_skipped(moto_endpoint: str, client: Any) -> None:
    """The controller deletes ALBs while kyeol waits: one gone mid-call must not fail the look-up.

    AWS answers DescribeTags with LoadBalancerNotFound when any ARN of the batch is gone; moto
    still returns the deleted one's tags, so a botocore before-call hook (a stand-in for that
    one AWS answer) gives it for calls that name the deleted ARN."""
    subnets, _ = subnets_and_vpc(moto_endpoint)
    tags = [{"Key": TAG, "Value": "jung-dev-eks"}]
    arns = [
        client.create_load_balancer(Name=f"lb-{i}", Subnets=subnets, Type="application", Tags=tags)["LoadBalancers"][0][
            "LoadBalancerArn"
        ]
        for i in range(3)
    ]
    session = AwsSession(REGION, endpoint_url=moto_endpoint)
    calls: list[list[str]] = []

    def aws_refuses_a_gone_arn(params: dict[str, Any], **_: Any) -> Any:
        named = [v for k, v in sorted((params.get("body") or {}).items()) if k.startswith("ResourceArns.member.")]
        calls.append(named)
        if arns[1] not in named:
            return None
        if len(calls) == 1:  # the controller deletes it after kyeol listed it
            client.delete_load_balancer(LoadBalancerArn=arns[1])
        return (
            SimpleNamespace(status_code=400, headers={}),
            {"Error": {"Code": "LoadBalancerNotFound", "Message": "gone"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        )

    session.client("elbv2").meta.events.register("before-call.elastic-load-balancing-v2.DescribeTags", aws_refuses_a_gone_arn)
    found = session.tagged_load_balancing(TAG, "jung-dev-eks")
    assert sorted(i["arn"] for i in found["load_balancers"]) == sorted([arns[0], arns[2]])
    assert calls[0] == arns and sorted(calls[1:4]) == sorted([[a] for a in arns]), "the failed batch, then one by one"
