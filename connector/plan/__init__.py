"""Plan import: a Vietnamese implementation plan (Kế hoạch) → Plan, Task, Milestone models."""
from connector.plan.parser import parse_plan, parse_text

__all__ = ["parse_plan", "parse_text"]
