"""Google Cloud: what ``google_*`` resources mean for the graph.

``compute``: Compute Engine instances, managed instance groups and Cloud Run services.
``invoker``: Cloud Run's ``roles/run.invoker`` grants, as the invoker layer.
``network``: VPC firewall rules as the cloud-firewall layer, Google's load-balancer ranges.
``data``: Cloud SQL for PostgreSQL, Memorystore for Redis and Cloud Storage buckets.
``edge``: the external Application Load Balancer chain (as load-balancer documents) and Cloud CDN.
``armor``: Cloud Armor policies on backend services, as filters in front of their pools.
"""

from __future__ import annotations

from collections.abc import Sequence

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.loaders.terraform_document import ResourceInstance, TerraformModule
from bitriver_lint.providers.base import LoadBalancer
from bitriver_lint.providers.gcp import compute, data, edge, network


class Gcp:
    name = "google"

    def handles(self, resource_type: str) -> bool:
        return resource_type.startswith("google_")

    def nodes(self, module: TerraformModule, resources: Sequence[ResourceInstance], ctx: BuildContext) -> None:
        del resources  # the module document indexes them by type
        # A VPC firewall rule belongs to its network, not to the module that writes it: rules a
        # sibling module (modules/network) adds reach this module's instances too.
        firewall = [e for m in (module.family or [module]) for e in network.firewall_entries(m)]
        for instance in module.of_type("google_compute_instance"):
            compute.add_instance(ctx, module, instance, firewall)
        for manager in module.of_type("google_compute_instance_group_manager",
                                      "google_compute_region_instance_group_manager"):
            compute.add_instance_group(ctx, module, manager, firewall)
        for service in module.of_type("google_cloud_run_v2_service", "google_cloud_run_service"):
            compute.add_cloud_run(ctx, module, service)
        for database in module.of_type(data.SQL):
            data.add_cloud_sql(ctx, module, database)
        for cache in module.of_type("google_redis_instance"):
            data.add_memorystore(ctx, module, cache)
        data.add_buckets(ctx, module)

    def load_balancers(self, module: TerraformModule, resources: Sequence[ResourceInstance],
                       ctx: BuildContext) -> list[LoadBalancer]:
        del resources
        return edge.load_balancers(module, ctx)


GCP = Gcp()
