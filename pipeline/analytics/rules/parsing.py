"""Rules files (YAML) into validated rules, or errors that name the field.

Every problem becomes one line ``<path>: <message>``, the path written as in the file, e.g.
``rules[2].conditions.all[0].metric: unknown metric 'roaz' (did you mean 'roas'? expected one of ...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.analytics.definition_files import DefinitionFileError, parse_yaml, read_definition_file
from pipeline.analytics.rules.models import ACTION_TYPES, CAMPAIGN_ONLY_ACTIONS, Rule

FILE_KEYS = ("version", "rules")
SUPPORTED_VERSIONS = (1,)


class RuleFileError(DefinitionFileError):
    """A rules file or definition that cannot be used; ``errors`` lists every problem found."""


def load_rules_file(path: Path | str) -> list[Rule]:
    """Read and validate a rules file; raises ``RuleFileError`` listing every problem."""
    return parse_rules(read_definition_file(path, RuleFileError), source=str(path))


def parse_rules(text: str, source: str | None = None) -> list[Rule]:
    """Validate the YAML text of a rules file (``version: 1`` optional, ``rules:`` a list of rules)."""
    document = parse_yaml(text, source, RuleFileError)
    return validate_rules_document(document, source=source)


def validate_rules_document(document: Any, source: str | None = None) -> list[Rule]:
    """Validate an already parsed document (a mapping with ``rules``)."""
    if not isinstance(document, Mapping):
        raise RuleFileError(["the file must be a mapping with a 'rules' list (see docs/rules.md)"], source)
    errors = [
        f"{key}: unknown field (expected one of {', '.join(FILE_KEYS)})"
        for key in document
        if key not in FILE_KEYS
    ]
    version = document.get("version", 1)
    if version not in SUPPORTED_VERSIONS:
        errors.append(f"version: unsupported version {version!r} (supported: 1)")
    entries = document.get("rules")
    if not isinstance(entries, list) or not entries:
        errors.append("rules: required, a non-empty list of rules")
        raise RuleFileError(errors, source)

    rules: list[Rule] = []
    first_index_by_name: dict[str, int] = {}
    for index, entry in enumerate(entries):
        prefix = f"rules[{index}]"
        try:
            rule = Rule.model_validate(entry)
        except ValidationError as exc:
            errors += [f"{prefix}{line}" for line in validation_messages(exc, entry)]
            continue
        errors += [f"{prefix}{line}" for line in semantic_errors(rule)]
        if rule.name in first_index_by_name:
            errors.append(
                f"{prefix}.name: duplicate rule name '{rule.name}' (also rules[{first_index_by_name[rule.name]}])"
            )
        else:
            first_index_by_name[rule.name] = index
        rules.append(rule)
    if errors:
        raise RuleFileError(errors, source)
    return rules


def rule_from_definition(definition: Mapping[str, Any], *, enabled: bool | None = None) -> Rule:
    """A stored definition back into a rule (raises ``RuleFileError`` if it no longer validates)."""
    data = {**definition, "enabled": enabled}
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        raise RuleFileError(validation_messages(exc, data)) from exc
    problems = semantic_errors(rule)
    if problems:
        raise RuleFileError(problems)
    return rule


def semantic_errors(rule: Rule) -> list[str]:
    """Checks across fields, as ``.path: message`` lines relative to the rule."""
    errors = []
    if rule.level == "account":
        for index, action in enumerate(rule.actions):
            if action.type in CAMPAIGN_ONLY_ACTIONS:
                errors.append(
                    f".actions[{index}].type: {action.type} acts on campaigns; this rule has level 'account'"
                    " (use send_alert, notify_slack or notify_webhook)"
                )
        for field in ("campaign_ids", "campaign_names", "exclude_campaign_names", "statuses"):
            if getattr(rule.scope, field) is not None:
                errors.append(f".scope.{field}: filters campaigns; this rule has level 'account'")
    seen: dict[str, int] = {}
    for index, action in enumerate(rule.actions):
        if action.type in ("pause_campaign", "adjust_budget") and action.type in seen:
            errors.append(
                f".actions[{index}].type: only one {action.type} per rule (also actions[{seen[action.type]}])"
            )
        seen.setdefault(action.type, index)
    if "pause_campaign" in seen and "adjust_budget" in seen:
        errors.append(
            f".actions[{seen['adjust_budget']}].type: a rule cannot both pause a campaign and change its budget"
        )
    return errors


def validation_messages(exc: ValidationError, data: Any) -> list[str]:
    """Pydantic errors as ``.path: message`` lines, the path following the input document.

    Union tags pydantic adds to locations (``metric``, ``all_of``, ``adjust_budget``...) are not keys of
    the document, so walking the document alongside the location drops them.
    """
    lines = []
    for error in exc.errors(include_url=False):
        path, node = "", data
        loc = list(error["loc"])
        for position, part in enumerate(loc):
            if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
                path += f"[{part}]"
                node = node[part]
            elif isinstance(part, str) and isinstance(node, Mapping) and part in node:
                path += f".{part}"
                node = node[part]
            elif (
                isinstance(part, str)
                and error["type"] in ("missing", "extra_forbidden")
                and position == len(loc) - 1
            ):
                path += f".{part}"  # the field that is missing (not in the document, by definition)
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            path += ".type"
        lines.append(f"{path}: {_message(error)}")
    return lines


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "union_tag_invalid":
        return f"unknown action type {error['ctx']['tag']!r} (expected one of {', '.join(ACTION_TYPES)})"
    if kind == "union_tag_not_found":
        return f"required field missing (one of {', '.join(ACTION_TYPES)})"
    if kind == "too_short":
        return "must not be empty"
    message = str(error["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
