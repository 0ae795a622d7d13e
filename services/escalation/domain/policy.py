"""Loading the routing policy file, with errors that name the YAML path and the broken rule."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml
from pydantic import ValidationError

from services.escalation.domain.policy_schema import FAILURE_PROOFS, ClockOwner, ClockSpec, Policy
from shared.contracts.vocabulary import Tier

DEFAULT_POLICY = Path(__file__).with_name("policy.yaml")
__all__ = ["DEFAULT_POLICY", "ClockSpec", "Policy", "PolicyError", "load_policy", "parse_policy"]


class PolicyError(ValueError):
    """The policy file cannot be used; ``problems`` lists each as 'yaml.path: rule'."""

    def __init__(self, *, source: str, problems: list[str]) -> None:
        self.source, self.problems = source, problems
        super().__init__(f"{source}: " + "; ".join(problems))


def load_policy(*, path: Path = DEFAULT_POLICY) -> Policy:
    """Read and validate a policy file; raises PolicyError listing every problem by path."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise PolicyError(source=path.name, problems=[f"(file): cannot read: {exc}"]) from exc
    return parse_policy(raw=raw, source=path.name)


def parse_policy(*, raw: object, source: str = "policy") -> Policy:
    """Validate already-parsed YAML; raises PolicyError listing every problem by path."""
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_path(e['loc'])}: {e['msg']}{_got(e)}" for e in exc.errors()]
        raise PolicyError(source=source, problems=problems) from exc
    problems = list(_unknown_clocks(policy))
    problems += list(_owned_clocks(policy))
    problems += [f"external.requires_any_of: unknown proof {p!r}; known: {', '.join(FAILURE_PROOFS)}"
                 for p in policy.external.requires_any_of if p not in FAILURE_PROOFS]
    if problems:
        raise PolicyError(source=source, problems=problems)
    return policy


def _unknown_clocks(policy: Policy) -> Iterator[str]:
    refs = [("routing.default.clocks", policy.routing.default.clocks),
            ("external.breached_clocks", policy.external.breached_clocks)]
    for i, rule in enumerate(policy.routing.rules):
        refs += [(f"routing.rules[{i}].then.clocks", rule.then.clocks or ()),
                 (f"routing.rules[{i}].then.add_clocks", rule.then.add_clocks)]
    known = ", ".join(policy.clocks)
    for where, names in refs:
        for j, name in enumerate(names):
            if name not in policy.clocks:
                yield f"{where}[{j}]: unknown clock {name!r}; defined clocks: {known}"


def _owned_clocks(policy: Policy) -> Iterator[str]:
    """A buyer's own window never proves the handling side failed; a tier clock belongs to a tier."""
    for j, name in enumerate(policy.external.breached_clocks):
        spec = policy.clocks.get(name)
        if spec is not None and spec.owner is ClockOwner.COMPLAINANT:
            yield (f"external.breached_clocks[{j}]: {name!r} is the complainant's own window; its lapse "
                   "is no proof that internal handling failed")
    for tier, name in policy.tier_clocks.items():
        if tier in {Tier.AUTOMATIC, Tier.INTERNAL}:
            yield f"tier_clocks.{tier}: the {tier} tier runs the routed handling clocks, not a tier clock"
        if name not in policy.clocks:
            yield f"tier_clocks.{tier}: unknown clock {name!r}; defined clocks: {', '.join(policy.clocks)}"
        elif policy.clocks[name].owner is ClockOwner.COMPLAINANT:
            yield f"tier_clocks.{tier}: {name!r} is the complainant's own window, not a tier's deadline"
    for tier, names in policy.tier_windows.items():
        for j, name in enumerate(names):
            if name not in policy.clocks:
                yield f"tier_windows.{tier}[{j}]: unknown clock {name!r}; defined clocks: {', '.join(policy.clocks)}"
            elif policy.clocks[name].owner is not ClockOwner.COMPLAINANT:
                yield f"tier_windows.{tier}[{j}]: {name!r} is not a window the complainant owns"


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _got(error: Mapping[str, object]) -> str:
    value = error.get("input")
    return f" (got {value!r})" if isinstance(value, str | int | float) else ""
