"""Business reports: revenue, receivables aging, active sessions and ARPU.

Read-only figures computed by one GROUP BY query each on the tenant connection, always
narrowed to a set of resellers when the caller is a reseller. What each figure counts is
written in the module that computes it and in docs/api.md ("Reports").
"""
