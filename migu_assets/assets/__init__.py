"""Software-defined assets, one module per policy chapter; each is thin wiring around ``migu_assets.compute``.

Chain: daily_complaint_counts → warning_tiers → health_scores → importance_scores → monthly_credit_scores →
credit_scores → credit_grades → control_actions → settlements → renewal_decisions → partner_status / monthly_report.
"""
