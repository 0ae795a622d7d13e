"""Loading a service's settings at startup: clear refusals (exit 2) instead of tracebacks, and the
production checks — no secret left at a committed default, no unknown (likely misspelt) setting."""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping
from typing import NoReturn, TypeVar

from pydantic import ValidationError

from shared.settings import ServiceSettings, env_names
from shared.topics import TopicSettings

S = TypeVar("S", bound=ServiceSettings)

#: Every service reads these; each service also checks the variables of its own prefix.
COMMON_PREFIX = "COMPLAINTS_"
SERVICE_PREFIXES = ("INTAKE_", "EVIDENCE_", "ESCALATION_", "NOTIFY_")
#: COMPLAINTS_ variables read outside the settings classes (the public event base URL; the compose image tag)
#: or by some processes only (the status links' secret: notify and the console).
OTHER_KNOWN = frozenset({"COMPLAINTS_PUBLIC_BASE_URL", "COMPLAINTS_IMAGE_TAG", "COMPLAINTS_STATUS_LINK_SECRET"})


def unknown_variables(settings_cls: type[ServiceSettings], environ: Mapping[str, str]) -> list[str]:
    """The COMPLAINTS_ and this service's prefixed variables no setting reads, each with the nearest known name.

    A variable of another service's prefix is that service's to check (one config map may serve all)."""
    known = env_names(settings_cls) | env_names(TopicSettings) | OTHER_KNOWN
    own = (settings_cls.model_config.get("env_prefix") or "").upper()
    prefixes = tuple(p for p in (COMMON_PREFIX, own) if p)
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if upper.startswith(prefixes) and upper not in known:
            prefix = next(p for p in prefixes if upper.startswith(p))
            # Compared after the prefix: every name shares it, and it would make any two look alike.
            tails = {n[len(prefix):]: n for n in known if n.startswith(prefix)}
            near = difflib.get_close_matches(upper[len(prefix):], sorted(tails), n=1, cutoff=0.6)
            hint = f" (did you mean {tails[near[0]]}?)" if near else ""
            problems.append(f"{name} is not a known setting{hint}")
    return problems


def production_problems(settings: ServiceSettings, environ: Mapping[str, str]) -> list[str]:
    """What production refuses: secrets at committed defaults, and unknown settings, each named."""
    return [*settings.default_secrets(), *unknown_variables(type(settings), environ)]


def _validation_lines(exc: ValidationError, settings_cls: type[ServiceSettings]) -> list[str]:
    """A settings error per line, naming the variable and the rule, never the value (it may be a secret)."""
    prefix = (settings_cls.model_config.get("env_prefix") or "").upper()
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not loc:
            lines.append(message)
            continue
        field = settings_cls.model_fields.get(loc[0])
        choices = getattr(field.validation_alias, "choices", None) if field is not None else None
        if choices:
            name = str(choices[0])
        elif field is not None:
            name = f"{prefix}{loc[0]}".upper()
        else:  # already the variable's name (an alias)
            name = ".".join(loc)
        lines.append(f"{name}: {message}")
    return lines


def load_settings(settings_cls: type[S], environ: Mapping[str, str] | None = None) -> S:
    """The service's settings from the environment; a bad setting, or in production a default secret
    or an unknown variable, ends the process with exit code 2 and one line per problem."""
    environ = os.environ if environ is None else environ
    service = (settings_cls.model_config.get("env_prefix") or "service").rstrip("_").lower()
    try:
        settings = settings_cls()
    except ValidationError as exc:
        _refuse(service, _validation_lines(exc, settings_cls))
    if settings.env == "production":
        problems = production_problems(settings, environ)
        if problems:
            _refuse(service, problems, hint="COMPLAINTS_ENV=production")
    else:
        defaults = settings.default_secrets()
        if defaults:
            sys.stderr.write(f"{service}: local mode, using committed default secrets "
                             f"({len(defaults)}); COMPLAINTS_ENV=production refuses them\n")
    return settings


def _refuse(service: str, problems: list[str], *, hint: str = "") -> NoReturn:
    where = f" ({hint})" if hint else ""
    body = "".join(f"  - {p}\n" for p in problems)
    sys.stderr.write(f"{service} cannot start{where}:\n{body}")
    raise SystemExit(2)
