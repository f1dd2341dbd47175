"""Source tables of the data contract (SPEC §1), shown in the lineage as external assets.

Upstream systems write them, or operators load files with ``migu-assets load``; nothing here materialises them.
"""

import dagster as dg

from migu_assets.assets._common import OWNERS, SOURCES

_DESCRIPTIONS = {
    "partners": "合作方主数据：合作方、母公司、是否上架全网权益平台、合作开始日期。",
    "complaint_tickets": "投诉工单（第七条）：不知情订购及其他投诉，创建、时限与处理时间。",
    "control_events": "管控事件（附件1–4）：省公司重要投诉、重点督办、拨测/风控、投诉通报。",
    "importance_declarations": "公司重要性申报及复核（附件5 第2项）。",
    "partner_monthly_business": "合作方月度经营数据：信息费收入、采购、广告投放（运营重要性）。",
    "settlement_items": "结算明细（第四条、第十五条）：信息费、分成比例、核减。",
    "payment_holds": "联动止付等暂停支付记录（第十五条）。",
    "major_violations": "重大违规记录（第十二条、第十九条、附件8）；新记录触发传感器重算。",
    "contracts": "合作合同：期限、权益落实、上线、资质、退出申请、签约决策（第八章）。",
    "credit_issue_dates": "信用积分结果下发日期（第十四条），可选。",
    "measure_executions": "处罚措施执行记录（第十四条）：措施编号、执行日期、执行人。",
    "exit_deductions": "退出扣款（第二十四条）：违约金、稽核核减、欠费等，于清算期满时从暂扣结算款中扣除。",
}

source_tables = [
    dg.AssetSpec(
        key=name,
        description=text,
        group_name=SOURCES,
        owners=OWNERS,
        kinds={"sql", "table"},
        metadata={"dagster/table_name": name},
    )
    for name, text in _DESCRIPTIONS.items()
]
