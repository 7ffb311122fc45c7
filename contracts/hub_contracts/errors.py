"""Turn pydantic validation errors into one plain line per field."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # dotted path, e.g. "flags.social_worker_email" or "marks.3.code"
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def describe_validation_error(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """One `FieldError` per problem, naming the field by its wire name."""
    out: list[FieldError] = []
    for err in exc.errors(include_url=False):
        parts = [str(p) for p in err["loc"]]
        field = ".".join([prefix, *parts] if prefix else parts)
        message = err["msg"]
        # pydantic prefixes messages raised from validators with "Value error, "
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        out.append(FieldError(field=field, message=message))
    return out
