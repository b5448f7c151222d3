"""Leads, list imports, scoring, assignment, conversion, pipelines and opportunities (filled by the leads issue)."""
