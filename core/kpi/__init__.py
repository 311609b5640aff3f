"""KPI catalogue and the per-area tables computed from store aggregates."""
