"""migu_assets: the 联合会员 partner-management policy as Dagster software-defined assets."""
