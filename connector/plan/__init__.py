"""Plan import: a Vietnamese implementation plan (Kế hoạch) → Plan, Task, Milestone models."""

__all__ = ["parse_plan", "parse_text"]


def __getattr__(name: str):
    # The parser is imported when first used: a run whose plan is unchanged (connector.inputs) never needs it.
    if name in __all__:
        from connector.plan import parser

        return getattr(parser, name)
    raise AttributeError(f"module 'connector.plan' has no attribute {name!r}")
