"""The quality gate: GX suites, reconciliation and output audits, their results log, and alerts."""
