"""User rules: YAML definitions validated into models, evaluated over windowed campaign metrics.

Pure logic (no Dagster, no database): ``parse_rules`` / ``load_rules_file`` validate, ``evaluate_rule``
decides which entities match and what each action should do; ``pipeline.warehouse.rules_store``
stores rules and carries the decisions out.
"""

from __future__ import annotations

from pipeline.analytics.rules.models import METRICS, Rule
from pipeline.analytics.rules.parsing import RuleFileError, load_rules_file, parse_rules, rule_from_definition

__all__ = ["METRICS", "Rule", "RuleFileError", "load_rules_file", "parse_rules", "rule_from_definition"]
