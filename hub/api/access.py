"""Which settings and learners a token reaches (DESIGN §5 scopes).

- `admin` reaches everything.
- `la:<code>` reaches the settings whose `la_code` is that code.
- `setting:<id>` reaches that setting.

A learner is reachable when they are *on the roll* of a reachable setting: any registration
there (current or ended), or an EOTAS placement with it as the registering school or the
provider. A learner the token cannot reach is reported as 404 on reads, so a token cannot
learn whether a UPN exists elsewhere; writes aimed at a setting outside the scope are 403.

A learner's `sharing_restrictions` name settings that must not receive their data (only a
safeguarding alert overrides them). A token that reaches the learner *only* through such
settings (`barred_view`) sees only what its own settings recorded or raised, plus safeguarding
alerts addressed to them, and cannot change the learner's record (so a barred setting cannot
lift its own restriction).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.auth import Principal
from hub.api.errors import not_found
from hub.store import (
    LearnerRepository,
    PlacementRepository,
    RegistrationRepository,
    SettingRepository,
)

#: None: every setting (an admin token).
Reach = frozenset[str] | None


async def reach(session: AsyncSession, principal: Principal) -> Reach:
    """The ids of the settings `principal` reaches, or None for all of them."""
    if principal.is_admin:
        return None
    ids = set(principal.setting_ids)
    settings = SettingRepository(session)
    for la_code in sorted(principal.la_codes):
        ids.update(s.id for s in await settings.list(la_code=la_code))
    return frozenset(ids)


def within(reach_: Reach, setting_ids: Iterable[str]) -> bool:
    """True when any of `setting_ids` is reachable."""
    return reach_ is None or not reach_.isdisjoint(setting_ids)


def barred_view(reach_: Reach, through: Iterable[str], restrictions: Iterable[str]) -> bool:
    """True when the token reaches the learner's data (via the settings `through`) only by
    settings the learner's `sharing_restrictions` name."""
    if reach_ is None:
        return False
    via = reach_.intersection(through)
    return bool(via) and via <= set(restrictions)


async def roll_settings(session: AsyncSession, upn: str) -> set[str]:
    """Every setting the learner is or was on the roll of (registrations and placements)."""
    ids = {r.setting_id for r in await RegistrationRepository(session).for_learner(upn)}
    for placement in await PlacementRepository(session).for_learner(upn):
        ids.update((placement.school_id, placement.provider_id))
    return ids


async def roll_settings_of(session: AsyncSession, upns: Iterable[str]) -> dict[str, set[str]]:
    """`roll_settings` for many learners, in a few queries."""
    wanted = set(upns)
    out: dict[str, set[str]] = {upn: set() for upn in wanted}
    for upn, regs in (await RegistrationRepository(session).for_learners(wanted)).items():
        out[upn].update(r.setting_id for r in regs)
    for upn, placements in (await PlacementRepository(session).for_learners(wanted)).items():
        for p in placements:
            out[upn].update((p.school_id, p.provider_id))
    return out


async def require_visible_learner(
    session: AsyncSession, principal: Principal, upn: str
) -> set[str]:
    """The learner's roll settings if the token may read them; 404 when unknown or unreachable."""
    if await LearnerRepository(session).get(upn) is None:
        raise not_found("learner")
    settings = await roll_settings(session, upn)
    if not within(await reach(session, principal), settings):
        raise not_found("learner")
    return settings
