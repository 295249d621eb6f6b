"""Cluster Autoscaler's side of the Terraform (issue 8, defect 6).

Upstream rules, kubernetes/autoscaler@cluster-autoscaler-chart-9.59.0:

- cluster-autoscaler/cloudprovider/aws/README.md "Auto-Discovery Setup": the autoscaler finds
  the ASGs carrying the tag keys ``k8s.io/cluster-autoscaler/enabled`` and
  ``k8s.io/cluster-autoscaler/<cluster-name>`` (the chart's default ``autoDiscovery.tags``),
  respects each group's min and max and only changes its desired capacity. EKS puts those tags on
  the ASG of every managed node group; the node groups here carry them too, so the intent is in
  the code (and the tag-conditioned IAM policy below reads the same keys).
- same README, "IAM Policy": Describe* calls (and ``eks:DescribeNodegroup``, for the labels and
  taints of a group at zero) on ``*``; ``autoscaling:SetDesiredCapacity`` and
  ``autoscaling:TerminateInstanceInAutoScalingGroup`` restricted "by tag based conditionals".
- the FAQ ("Which version on Cluster Autoscaler should I use") pairs the autoscaler's minor with
  the cluster's (the GitOps values, tests/gitops/test_platform.py).

And hashicorp/terraform-provider-aws@v6.69.1 website/docs/r/eks_node_group.html.markdown,
"Ignoring Changes to Desired Size": with an external autoscaler, ``lifecycle { ignore_changes =
[scaling_config[0].desired_size] }``, or every apply sets the group back to the tfvars size.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra import conformance as c
from tests.infra.dependencies import Graph, Node
from tests.infra.evaluate import Instance, instantiate
from tests.infra.hcl import Block
from tests.infra.media_contract import policy_document, statements, symbolic

SERVICE_ACCOUNT = "system:serviceaccount:kube-system:cluster-autoscaler"
MUTATIONS = {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}
DESCRIBES = {
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
}


def _node_groups(root: Instance) -> list[tuple[Instance, Block, dict[str, Any]]]:
    return [(i, b, s) for i, b, s in c.instances_of(root, "aws_eks_node_group") if c.copies(i) != 0]


def _tag_keys(inst: Instance, block: Block, scope: dict[str, Any], cluster: str) -> set[str]:
    tags = inst.attr(block, "tags", {}, scope=scope)
    tags = tags if isinstance(tags, dict) else {}
    # A key built from the cluster resource's name (unknown before apply) is that cluster's key.
    return {re.sub(r"^eks: aws_eks_cluster\.this\.name in '(.*)\$\{var\.cluster_name\}'$", rf"\g<1>{cluster}", k) for k in tags}


def node_group_tag_keys(root: Instance, cluster: str) -> list[set[str]]:
    """Tag keys of every node group the root makes (what the autoscaler's discovery matches)."""
    return [_tag_keys(i, b, s, cluster) for i, b, s in _node_groups(root)]


def node_group_problems(root: Instance, cluster: str) -> list[str]:
    problems = []
    groups = _node_groups(root)
    if not groups:
        problems.append(f"{root.directory}: no aws_eks_node_group")
    for inst, block, scope in groups:
        place = c.where(inst, block)
        keys = _tag_keys(inst, block, scope, cluster)
        for key in ("k8s.io/cluster-autoscaler/enabled", f"k8s.io/cluster-autoscaler/{cluster}"):
            if key not in keys:
                problems.append(f"{place}: no tag {key} (Cluster Autoscaler's auto-discovery)")
        life = block.child("lifecycle")
        ignored = [str(v) for v in (life.value("ignore_changes", []) if life else [])]
        if not any(v.replace("${", "").replace("}", "").replace(" ", "") == "scaling_config[0].desired_size" for v in ignored):
            problems.append(
                f"{place}: lifecycle.ignore_changes lacks scaling_config[0].desired_size: every apply would "
                "undo the autoscaler's desired size"
            )
    return problems


def role_problems(root: Instance, env: str, cluster: str) -> list[str]:
    name = f"{c.PREFIX}{env}-cluster-autoscaler"
    roles = [(i, b, s) for i, b, s in c.instances_of(root, "aws_iam_role") if i.attr(b, "name", scope=s) == name]
    if len(roles) != 1:
        return [f"{env}: {len(roles)} IAM role named {name}, expected 1"]
    inst, role, scope = roles[0]
    place = c.where(inst, role)
    problems = []
    trust = policy_document(inst, role, "assume_role_policy", scope)
    subs = [
        v
        for s in (statements(inst, *trust) if trust else [])
        for t, var, vals in s.conditions
        if t == "StringEquals" and var.endswith(":sub")
        for v in vals
    ]
    if subs != [SERVICE_ACCOUNT]:
        problems.append(f"{place}: trusted by {subs}, expected exactly [{SERVICE_ACCOUNT!r}]")
    own = "{" + f"{inst.directory.name}: aws_iam_role.{role.labels[1]}"
    inline = [b for b in inst.resources("aws_iam_role_policy") if str(symbolic(inst, b.value("role"))).startswith(own + ".")]
    allowed: set[str] = set()
    for pol in inline:
        found = policy_document(inst, pol, "policy", {})
        for s in statements(inst, *found) if found else []:
            if s.effect != "Allow":
                continue
            allowed |= set(s.actions)
            where = f"{c.where(inst, pol)} statement {s.sid or '?'}"
            if set(s.actions) & MUTATIONS:
                tag = [
                    vals
                    for t, var, vals in s.conditions
                    if t == "StringEquals" and var == f"aws:resourcetag/k8s.io/cluster-autoscaler/{cluster}"
                ]
                if tag != [["owned"]]:
                    problems.append(
                        f"{where}: {sorted(set(s.actions) & MUTATIONS)} not limited to ASGs tagged "
                        f"k8s.io/cluster-autoscaler/{cluster}=owned (conditions {s.conditions})"
                    )
            elif "eks:DescribeNodegroup" in s.actions:
                if s.actions != ["eks:DescribeNodegroup"] or not all(f":nodegroup/{cluster}/" in r for r in s.resources):
                    problems.append(f"{where}: eks:DescribeNodegroup on {s.resources}, expected this cluster's node groups only")
            elif not set(s.actions) <= DESCRIBES:
                problems.append(f"{where}: allows {sorted(set(s.actions) - DESCRIBES)}, which the autoscaler does not need")
    missing = sorted((MUTATIONS | DESCRIBES | {"eks:DescribeNodegroup"}) - allowed)
    if missing:
        problems.append(f"{place}: may not {missing} (cloudprovider/aws/README.md, full features policy)")
    return problems


def problems(tree: Path) -> list[str]:
    found = []
    for env in c.TARGET_ENVS:
        root = instantiate(c.env_root(tree, env))
        cluster = f"{c.PREFIX}{env}-eks"
        found += node_group_problems(root, cluster) + role_problems(root, env, cluster)
        if "cluster_autoscaler_role_arn" not in root.output_names:
            found.append(f"{env}: no output cluster_autoscaler_role_arn (phase 5 puts it on the cluster Secret)")
        elif not any(
            n.kind == "resource" and n.name == "aws_iam_role.cluster_autoscaler"
            for n in Graph(root).waits_for(Node("", "output", "cluster_autoscaler_role_arn"))
        ):
            found.append(f"{env}: output cluster_autoscaler_role_arn is not the autoscaler role's ARN")
    return found


def test_the_real_tree_lets_cluster_autoscaler_scale_every_node_group(infra_tree: Path) -> None:
    assert problems(infra_tree) == []


def _copy(tmp_path: Path, infra_tree: Path) -> Path:
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(infra_tree, tree, ignore=shutil.ignore_patterns(".terraform*"))
    return tree


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    ("path", "old", "new", "shown"),
    [
        (
            "modules/eks/node_groups.tf",
            "    ignore_changes = [scaling_config[0].desired_size]\n",
            "    ignore_changes = []\n",
            "aws_eks_node_group.default): lifecycle.ignore_changes lacks scaling_config[0].desired_size",
        ),
        (
            "modules/pg-nat/main.tf",
            '    "k8s.io/cluster-autoscaler/${var.cluster_name}" = "owned"\n',
            "",
            "aws_eks_node_group.this): no tag k8s.io/cluster-autoscaler/jung-prod-eks",
        ),
        (
            "modules/irsa/main.tf",
            '      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.cluster_autoscaler_cluster_name}"\n',
            '      variable = "aws:ResourceTag/kyeol:env"\n',
            "['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'] not limited to ASGs tagged",
        ),
        (
            "modules/irsa/main.tf",
            '      "ec2:DescribeLaunchTemplateVersions",\n',
            '      "ec2:DescribeLaunchTemplateVersions",\n      "ec2:RunInstances",\n',
            "allows ['ec2:RunInstances'], which the autoscaler does not need",
        ),
        (
            "modules/irsa/main.tf",
            '    cluster_autoscaler = ["system:serviceaccount:kube-system:cluster-autoscaler"]',
            '    cluster_autoscaler = ["system:serviceaccount:kube-system:*"]',
            "trusted by ['system:serviceaccount:kube-system:*']",
        ),
    ],
)
def test_planted_mistakes_are_reported(tmp_path: Path, infra_tree: Path, path: str, old: str, new: str, shown: str) -> None:
    tree = _copy(tmp_path, infra_tree)
    _edit(tree / path, old, new)
    found = problems(tree)
    assert found and any(shown in p for p in found), found
