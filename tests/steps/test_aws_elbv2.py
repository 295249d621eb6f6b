"""AwsSession.tagged_load_balancing against moto: the load balancer controller's ALBs and
target groups of one cluster, found by tag among others, more than one DescribeTags batch."""

from __future__ import annotations

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
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
               for i, az in enumerate("ac")]
    return subnets, vpc


def test_only_what_carries_the_cluster_tag_is_found_across_batches(moto_endpoint: str, client: Any) -> None:
    subnets, vpc = subnets_and_vpc(moto_endpoint)
    wanted_lbs, wanted_tgs = [], []
    for i in range(23):  # more than one DescribeTags call (20 ARNs each)
        cluster = "jung-dev-eks" if i % 3 == 0 else "jung-stage-eks"
        tags = [{"Key": TAG, "Value": cluster}]
        lb = client.create_load_balancer(Name=f"lb-{i}", Subnets=subnets, Type="application", Tags=tags if i != 22 else [{"Key": "team", "Value": "x"}])
        tg = client.create_target_group(Name=f"tg-{i}", Protocol="HTTP", Port=80, VpcId=vpc, Tags=tags)
        if cluster == "jung-dev-eks" and i != 22:
            wanted_lbs.append({"name": f"lb-{i}", "arn": lb["LoadBalancers"][0]["LoadBalancerArn"]})
        if cluster == "jung-dev-eks":
            wanted_tgs.append({"name": f"tg-{i}", "arn": tg["TargetGroups"][0]["TargetGroupArn"]})

    found = AwsSession(REGION, endpoint_url=moto_endpoint).tagged_load_balancing(TAG, "jung-dev-eks")
    assert sorted(found["load_balancers"], key=lambda i: i["name"]) == sorted(wanted_lbs, key=lambda i: i["name"])
    assert sorted(found["target_groups"], key=lambda i: i["name"]) == sorted(wanted_tgs, key=lambda i: i["name"])
    assert AwsSession(REGION, endpoint_url=moto_endpoint).tagged_load_balancing(TAG, "jung-prod-eks") == {
        "load_balancers": [], "target_groups": []}
