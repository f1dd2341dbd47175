"""Business rules of the policy as plain, typed functions — no Dagster here.

One concept per module, named as the credit office names it:

- ``periods``      民法典 period counting (from = anchor + 1 day, until = anchor + period, inclusive)
- ``workdays``     Chinese statutory working days (调休 included)
- ``numbers``      half-up rounding of scores and money
- ``complaints``   第七条/附件6 daily complaint notifications
- ``warnings``     第八条/附件7 monthly warning tiers and their suspensions
- ``health``       附件5 health score (健康度)
- ``importance``   附件5 strategic importance (战略重要性)
- ``credit``       第九至十四条 monthly and weighted credit, grades, measures and due dates
- ``control``      第八条/附件1–4 control actions on sub-channels and businesses
- ``settlement``   第四、十五、十九、二十四条 settlements
- ``renewal``      第十六至二十五条 renewal decisions
"""
