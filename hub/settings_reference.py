"""Render the configuration reference from the settings model: `python -m hub.settings_reference`.

docs/configuration.md embeds this output between markers; a test fails when it drifts.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from hub.settings import ConnectionSettings, HubSettings

BEGIN = "<!-- BEGIN GENERATED: settings reference (python -m hub.settings_reference) -->"
END = "<!-- END GENERATED -->"


def _type_name(info: FieldInfo) -> str:
    text = str(info.annotation).replace("typing.", "")
    for prefix in ("<class '", "'>"):
        text = text.replace(prefix, "")
    return text.replace("hub.settings.", "").replace("|", "\\|")


def _default(info: FieldInfo) -> str:
    if info.default is not PydanticUndefined:
        return json.dumps(info.default, default=str)
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
        return json.dumps(
            value.model_dump() if isinstance(value, BaseModel) else value, default=str
        )
    return "required"


def _rows(model: type[BaseModel], prefix: str, env: bool) -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = info.annotation
        if (
            isinstance(annotation, type)
            and issubclass(annotation, BaseModel)
            and annotation not in (ConnectionSettings,)
        ):
            rows.extend(_rows(annotation, f"{key}.", env))
            continue
        env_var = ("HUB_" + key.upper().replace(".", "__")) if env else "-"
        if key == "connections":
            env_var = "-"
        rows.append(
            f"| `{key}` | `{_type_name(info)}` | `{_default(info)}` | `{env_var}` | "
            f"{info.description or ''} |"
        )
    return rows


def render() -> str:
    head = "| key | type | default | environment | meaning |\n|---|---|---|---|---|"
    top = "\n".join([head, *_rows(HubSettings, "", env=True)])
    conn = "\n".join([head, *_rows(ConnectionSettings, "connections[].", env=False)])
    return (
        f"{BEGIN}\n\n### Top level\n\n{top}\n\n### `[[connections]]`\n\n{conn}\n\n"
        "Any other key in a `[[connections]]` table belongs to the plugin's own configuration "
        "model and is validated against it by `hub check`.\n\n"
        f"{END}"
    )


def main() -> int:
    sys.stdout.write(render() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
