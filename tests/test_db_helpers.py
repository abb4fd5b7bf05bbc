"""portal.core.db.among: a list of thousands of values as one array parameter on PostgreSQL
(sent as the array's text form), the plain IN elsewhere; either way exactly the rows listed."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.core.db import among
from portal.models import Account, LifecycleStatus
from tests import factories

AWKWARD = ['a"b', "c\\d", "e,f", "{g}", "h h", "NULL", "い・ろ", "'j'"]


def test_among_finds_exactly_the_listed_rows_for_awkward_strings_ids_dates_and_enums(db):
    partner = factories.partner(db)
    listed = [factories.account(db, partner, reference=reference) for reference in AWKWARD]
    other = factories.account(db, partner, reference="k", contract_start=date(2024, 1, 1), status=LifecycleStatus.ONBOARDING)

    def found(column, values):
        return {a.reference for a in db.scalars(select(Account).where(among(db, column, values)))}

    assert found(Account.reference, AWKWARD) == set(AWKWARD)
    assert found(Account.reference, ["NULL"]) == {"NULL"}  # a string, not a missing value
    assert found(Account.id, [a.id for a in listed[:2]]) == set(AWKWARD[:2])
    assert found(Account.contract_start, [date(2024, 1, 1)]) == {"k"}
    assert found(Account.status, [LifecycleStatus.ONBOARDING]) == {other.reference}
    assert found(Account.reference, []) == set()
