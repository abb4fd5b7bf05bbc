"""The voice of the customer once a reseller has passed it on: the vendor's product areas, which
area an item is about, and the vendor's answer that the reseller reads.

An area is matched on its key, English and Japanese names and aliases, ignoring case, the width
of characters (NFKC) and hiragana/katakana, so "レポート", "ﾚﾎﾟｰﾄ", "れぽーと" and "REPORTS" are one area. An area we
do not know is not refused: the reseller passed on what the customer said and should not have to
guess the vendor's list first. The item is kept with the words as written and shows as
"Unassigned" until the vendor maps it (in the inbox, or by adding the words as an alias, which
maps every unassigned item that used them).
"""
from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.audit import services as audit
from portal.audit.models import AuditAction
from portal.core.clock import utcnow
from portal.core.history import record_change
from portal.core.labels import label
from portal.core.validation import Checks, FieldError, ValidationError
from portal.models import ProductArea, ReportSource, User, VocItem, VocStatus

if TYPE_CHECKING:
    from portal.models import Account
    from portal.reporting.checkins import InForce, VocInput

# Where an item may go from each status. Going back is allowed where it is honest (a plan that
# was dropped, a decline reconsidered, a release that was pulled); "new" is only ever the start.
TRANSITIONS: dict[VocStatus, frozenset[VocStatus]] = {
    VocStatus.NEW: frozenset({VocStatus.ACKNOWLEDGED, VocStatus.PLANNED, VocStatus.SHIPPED, VocStatus.DECLINED}),
    VocStatus.ACKNOWLEDGED: frozenset({VocStatus.PLANNED, VocStatus.SHIPPED, VocStatus.DECLINED}),
    VocStatus.PLANNED: frozenset({VocStatus.ACKNOWLEDGED, VocStatus.SHIPPED, VocStatus.DECLINED}),
    VocStatus.SHIPPED: frozenset({VocStatus.PLANNED}),
    VocStatus.DECLINED: frozenset({VocStatus.ACKNOWLEDGED, VocStatus.PLANNED}),
}
UNASSIGNED = "unassigned"  # the inbox's filter value for items with no vendor area
ALIAS_SEPARATORS = re.compile(r"[,、，;\n]")


HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}


def area_key(text: str) -> str:
    """What two spellings of one area have in common: NFKC (full/half width), case, spacing, and
    hiragana or katakana (れぽーと, レポート)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().translate(HIRAGANA_TO_KATAKANA).split())


def parse_aliases(text: Any) -> list[str]:
    """Aliases as typed in the admin form ("dashboards, 帳票"), or a list; blanks and repeats dropped."""
    parts = text if isinstance(text, (list, tuple)) else ALIAS_SEPARATORS.split(str(text or ""))
    seen: dict[str, str] = {}
    for part in parts:
        word = " ".join(str(part).split())
        if word and area_key(word) not in seen:
            seen[area_key(word)] = word
    return list(seen.values())


class AreaMatcher:
    """The active areas by every word that names them; one query, then matching in memory."""

    def __init__(self, areas: Iterable[ProductArea]):
        self.by_word: dict[str, ProductArea] = {}
        for area in areas:
            for word in (area.key, area.name_en, area.name_ja, *(area.aliases or [])):
                self.by_word.setdefault(area_key(word), area)

    @classmethod
    def load(cls, session: Session) -> "AreaMatcher":
        return cls(session.scalars(select(ProductArea).where(ProductArea.active.is_(True))
                                   .order_by(ProductArea.position, ProductArea.id)))

    def match(self, text: str | None) -> ProductArea | None:
        return self.by_word.get(area_key(text)) if text else None


def in_force():
    """SQL condition: the item is part of the check-in version in force. A correction is a new
    version that repeats the items it keeps, so counting every version would count them twice;
    writing the correction marks the older version's items (checkins._write_children)."""
    return VocItem.in_force.is_(True)


def product_areas(session: Session, *, active_only: bool = False) -> list[ProductArea]:
    stmt = select(ProductArea).order_by(ProductArea.position, ProductArea.id)
    if active_only:
        stmt = stmt.where(ProductArea.active.is_(True))
    return list(session.scalars(stmt))


def area_matcher(session: Session, voc: Iterable[VocInput]) -> AreaMatcher:
    """The matcher for these items: loaded (one query) only when one of them names an area."""
    return AreaMatcher.load(session) if any(v.product_area for v in voc) else AreaMatcher(())


def voc_item_values(account: Account, voc: Iterable[VocInput], previous: InForce | None, matcher: AreaMatcher) -> list[dict[str, Any]]:
    """The stored items (as column values) of a check-in's voice of the customer. An item a
    correction repeats (same kind, words and area as written) keeps the vendor's area, status and
    answer: it is the same thing the customer said, and the reseller must not lose the vendor's reply."""
    earlier = {(v.kind, v.text, v.product_area): v for v in (previous.voc_items if previous else [])}
    items = []
    for v in voc:
        item: dict[str, Any] = {"account_id": account.id, "partner_id": account.partner_id, "kind": v.kind, "text": v.text,
                                "product_area": v.product_area, "answer": None, "answered_at": None, "answered_by_id": None}
        if (same := earlier.get((v.kind, v.text, v.product_area))) is not None:
            item |= {"product_area_id": same.product_area_id, "status": same.status, "answer": same.answer,
                     "answered_at": same.answered_at, "answered_by_id": same.answered_by_id}
        else:
            area = matcher.match(v.product_area)
            item |= {"product_area_id": area.id if area else None, "status": VocStatus.NEW}
        items.append(item)
    return items


def assign_unassigned(session: Session) -> int:
    """Map unassigned items whose area, as written, now names a vendor area (after an area or an
    alias was added). One UPDATE per area that gains items, whatever the number of items."""
    matcher = AreaMatcher.load(session)
    written = session.scalars(select(VocItem.product_area).distinct()
                              .where(VocItem.product_area_id.is_(None), VocItem.product_area.is_not(None)))
    by_area: dict[int, list[str]] = {}
    for text in written:
        if text is not None and (area := matcher.match(text)) is not None:
            by_area.setdefault(area.id, []).append(text)
    mapped = 0
    for area_id, texts in by_area.items():
        result = session.execute(update(VocItem).where(VocItem.product_area_id.is_(None), VocItem.product_area.in_(texts))
                                 .values(product_area_id=area_id).execution_options(synchronize_session=False))
        mapped += result.rowcount or 0  # type: ignore[attr-defined]
    return mapped


# --- the vendor's answer ----------------------------------------------------------------------

def answer(session: Session, item: VocItem, values: Mapping[str, Any], *, actor: User) -> bool:
    """Set an item's status, answer and area (vendor staff, from the inbox). Raises
    ValidationError naming the field; records the change in the account's change log; never
    commits. Returns whether anything changed."""
    c = Checks()
    status = c.choice(values, "status", VocStatus, required=True)
    text = c.text(values, "answer")
    area_id = c.integer(values, "product_area_id", 0)
    if status is not None and status != item.status and status not in TRANSITIONS[item.status]:
        c.fail("status", _l("cannot go from “%(before)s” to “%(after)s”", before=label(item.status),
                            after=label(status)), status.value)
    if status is VocStatus.DECLINED and not text:
        c.fail("answer", _l("is required when you decline: tell the reseller why"))
    area = session.get(ProductArea, area_id) if area_id else None
    if area_id and area is None:
        c.fail("product_area_id", _l("is not one of the product areas"), area_id)
    c.done()
    assert status is not None  # required: done() raised otherwise
    before = _answer_snapshot(item)
    item.status, item.answer, item.product_area_id = status, text, area.id if area else None
    after = _answer_snapshot(item, area)
    if after == before:
        return False
    if (after["status"], after["answer"]) != (before["status"], before["answer"]):
        item.answered_at, item.answered_by_id = utcnow(), actor.id
    record_change(session, entity="voc_item", entity_id=item.id, partner_id=item.partner_id, account_id=item.account_id,
                  before=before, after=after, source=ReportSource.FORM, user=actor)
    session.flush()
    return True


def _answer_snapshot(item: VocItem, area: ProductArea | None = None) -> dict[str, Any]:
    area = area if area is not None or item.product_area_id is None else item.area
    return {"status": item.status.value, "answer": item.answer, "product_area": area.key if area else None}


# --- the vendor's list of areas ---------------------------------------------------------------

AREA_FIELDS = ("key", "name_en", "name_ja", "aliases", "active", "position")


def save_product_area(session: Session, values: Mapping[str, Any], area: ProductArea | None, *, actor: User | None = None) -> ProductArea:
    """Create or edit a product area (vendor admin). A word may name one area only, so that an
    item cannot match two. Then maps the unassigned items the area's words now name. Raises
    ValidationError; never commits."""
    aliases = parse_aliases(values.get("aliases"))
    words = {"key": values.get("key"), "name_en": values.get("name_en"), "name_ja": values.get("name_ja")}
    errors = []
    if session.scalar(select(ProductArea.id).where(ProductArea.key == words["key"], ProductArea.id != (area.id if area else None))):
        errors.append(FieldError("key", _l("This key is already used."), words["key"]))
    taken = AreaMatcher(a for a in product_areas(session) if area is None or a.id != area.id)
    for name, word in [*words.items(), *(("aliases", alias) for alias in aliases)]:
        if word and (other := taken.match(word)) is not None:
            errors.append(FieldError(name, _l("“%(word)s” already names the area %(area)s.", word=word, area=other.name_en), word))
    if errors:
        raise ValidationError(errors)
    before = {name: audit.plain(getattr(area, name)) for name in AREA_FIELDS} if area is not None else None
    area = area or ProductArea()
    for name in AREA_FIELDS:
        setattr(area, name, aliases if name == "aliases" else values.get(name))
    session.add(area)
    session.flush()
    detail = audit.changes(before, {name: audit.plain(getattr(area, name)) for name in AREA_FIELDS})
    if before is None or detail:
        audit.record(session, AuditAction.PRODUCT_AREA_CREATED if before is None else AuditAction.PRODUCT_AREA_UPDATED,
                     actor=actor, target=area, target_label=area.key, detail=detail)
    assign_unassigned(session)
    return area
