"""What-if runs (issue 11): the whole chain under a draft policy, in a scenario store, compared with the published.

``migu-assets whatif --policy DRAFT.yaml --from YYYY-MM --to YYYY-MM`` and ``whatif_job`` (Dagster UI) both run
:func:`run_whatif`: :mod:`~migu_assets.whatif.draft` (validation, the draft in force for the range),
:mod:`~migu_assets.whatif.store` (the separate SQLite file / PostgreSQL schema), :mod:`~migu_assets.whatif.scenario`
(the chain through the project's own jobs), :mod:`~migu_assets.whatif.compare` and
:mod:`~migu_assets.whatif.workbook` (the comparison).
"""

from migu_assets.whatif.scenario import WhatIfError, WhatIfOutcome, WhatIfRequest, check_request, run_whatif

__all__ = ["WhatIfError", "WhatIfOutcome", "WhatIfRequest", "check_request", "run_whatif"]
