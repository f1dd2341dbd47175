"""Dagster resources: the warehouse database and the policy file."""

from migu_assets.resources.policy import PolicyResource
from migu_assets.resources.warehouse import WarehouseResource

__all__ = ["PolicyResource", "WarehouseResource"]
