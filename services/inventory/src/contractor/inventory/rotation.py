"""``rotate-secrets``: re-encrypt every sealed secret with the first key of the key list."""

from __future__ import annotations

from contractor.inventory import orm
from contractor.inventory.encryption import SecretBox
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

SITE_SEALED = "bmc_password_sealed"


async def rotate_all(session: AsyncSession, box: SecretBox) -> int:
    """Re-encrypt foundation, complex and site discovery secrets; return how many."""
    count = 0
    sealed_rows: list[orm.Foundation | orm.Complex] = [
        *await session.scalars(
            select(orm.Foundation).where(orm.Foundation.sealed_secrets.is_not(None))
        ),
        *await session.scalars(select(orm.Complex).where(orm.Complex.sealed_secrets.is_not(None))),
    ]
    for row in sealed_rows:
        assert row.sealed_secrets is not None
        row.sealed_secrets = box.rotate(row.sealed_secrets)
        count += 1
    for site in await session.scalars(select(orm.Site).where(orm.Site.discovery.is_not(None))):
        sealed = (site.discovery or {}).get(SITE_SEALED)
        if sealed:
            site.discovery = {**(site.discovery or {}), SITE_SEALED: box.rotate(str(sealed))}
            count += 1
    await session.flush()
    return count
