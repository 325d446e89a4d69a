"""Amazon Web Services: what ``aws_*`` resources mean for the graph.

``compute``: EC2 instances, autoscaling groups, ECS services, RDS/Aurora, ElastiCache.
``network``: VPCs and subnets, security groups and public addressing as firewall layers.
``edge``: ALBs (as load-balancer documents), CloudFront distributions (custom origins named by
reference as a document the distribution runs), S3 buckets.
``accelerator``: Global Accelerator accelerators, listeners and endpoint groups (as load-balancer documents).
"""

from __future__ import annotations

from collections.abc import Sequence

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.terraform_common import node_id
from bitriver_lint.graph import Network
from bitriver_lint.loaders.terraform_document import ResourceInstance, TerraformModule
from bitriver_lint.providers.aws import accelerator, compute, edge, network
from bitriver_lint.providers.base import LoadBalancer


class Aws:
    name = "aws"

    def handles(self, resource_type: str) -> bool:
        return resource_type.startswith("aws_")

    def nodes(self, module: TerraformModule, resources: Sequence[ResourceInstance], ctx: BuildContext) -> None:
        # The module document indexes its instances by type; ``resources`` are exactly its aws_ ones.
        del resources
        sg_rules = network.security_group_rules(module, ctx)
        for vpc in module.of_type("aws_vpc"):
            cidr = vpc.arg("cidr_block")
            ctx.graph.add(Network(id=node_id(module, vpc.full_label), name=vpc.label, net_kind="vpc",
                                  location=vpc.location, cidr=cidr if isinstance(cidr, str) else None))
        subnets = network.subnets_of(module, ctx)
        for instance in module.of_type("aws_instance"):
            compute.add_instance(ctx, module, instance, sg_rules, subnets)
        for service in module.of_type("aws_ecs_service"):
            compute.add_ecs_service(ctx, module, service, sg_rules, subnets)
        for group in module.of_type("aws_autoscaling_group"):
            compute.add_autoscaling_group(ctx, module, group, sg_rules, subnets)
        for database in module.of_type("aws_db_instance", "aws_rds_cluster"):
            compute.add_database(ctx, module, database, sg_rules)
        for cache in module.of_type("aws_elasticache_cluster", "aws_elasticache_replication_group"):
            compute.add_redis(ctx, module, cache)
        for distribution in module.of_type("aws_cloudfront_distribution"):
            edge.add_distribution(ctx, module, distribution)
        edge.add_buckets(ctx, module)

    def load_balancers(self, module: TerraformModule, resources: Sequence[ResourceInstance],
                       ctx: BuildContext) -> list[LoadBalancer]:
        del resources
        return [*edge.load_balancers(module, ctx, network.security_group_rules(module, ctx)),
                *accelerator.load_balancers(module), *edge.distribution_documents(ctx, module)]


AWS = Aws()
