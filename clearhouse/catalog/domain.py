"""Catalog rules with no I/O: product states, SKU and spec shapes, the category tree, sort orders.

Imports nothing from Django, so these rules are tested without a database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from clearhouse.core.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from clearhouse.core.money import Money


# --- errors ----------------------------------------------------------------------
class UnknownSku(NotFound):
    """No such variant, or one the caller may not see (the same answer on purpose)."""

    code = "unknown_sku"
    default_message = "No such SKU."


class InvalidSku(DomainError):
    code = "invalid_sku"
    default_message = "SKU codes are 1-64 letters, digits, dots, dashes or underscores."


class DuplicateSku(DomainError):
    code = "duplicate_sku"
    http_status = 409
    default_message = "A variant with this SKU code already exists."


class DuplicateSlug(DomainError):
    code = "duplicate_slug"
    http_status = 409
    default_message = "A category with this slug already exists."


class InvalidSpecs(DomainError):
    code = "invalid_specs"
    default_message = "Specs are a flat object of short text names and values, e.g. {\"size\": \"M\"}."


class InvalidPrice(DomainError):
    code = "invalid_price"
    default_message = "Prices cannot be negative."


class InvalidMemberLevel(DomainError):
    code = "invalid_member_level"
    default_message = "Member level codes are 1-50 lowercase letters, digits, dashes or underscores."


class CategoryCycle(DomainError):
    code = "category_cycle"
    default_message = "A category cannot sit below itself or one of its descendants."


class ProductNotPublishable(DomainError):
    code = "product_has_no_active_variant"
    http_status = 409
    default_message = "A product needs at least one active variant before it can be published."


class InvalidImage(DomainError):
    code = "invalid_image"
    default_message = "The upload is not a JPEG, PNG, WebP or GIF image."


class ImageTooLarge(InvalidImage):
    code = "image_too_large"
    default_message = "The image is too large."


# --- product states ----------------------------------------------------------------
class ProductStatus(StrEnum):
    """Where a product stands in the storefront: drafts and unpublished products are hidden."""

    DRAFT = "draft"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"


TRANSITIONS: dict[ProductStatus, frozenset[ProductStatus]] = {
    ProductStatus.DRAFT: frozenset({ProductStatus.PUBLISHED}),
    ProductStatus.PUBLISHED: frozenset({ProductStatus.UNPUBLISHED}),
    ProductStatus.UNPUBLISHED: frozenset({ProductStatus.PUBLISHED}),
}


def check_transition(current: str, to: str) -> ProductStatus:
    """The one gate for product state changes; returns the target state."""
    current, to = ProductStatus(current), ProductStatus(to)
    if to not in TRANSITIONS[current]:
        raise InvalidTransition(f"A {current} product cannot become {to}.", param="status")
    return to


def check_publishable(*, active_variant_count: int) -> None:
    if active_variant_count < 1:
        raise ProductNotPublishable(param="variants")


# --- sorting -------------------------------------------------------------------------
class ProductSort(StrEnum):
    """Orders of a product list. `relevance` means newest when there is no search text."""

    RELEVANCE = "relevance"
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    SALES = "sales"


# --- SKUs, specs, prices -----------------------------------------------------------
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LEVEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
MAX_SPECS = 20
MAX_SPEC_TEXT = 100


def check_sku(sku: object) -> str:
    """SKU codes travel in URLs, CSV files and labels: keep them plain."""
    if not isinstance(sku, str) or not _SKU.fullmatch(sku.strip()):
        raise InvalidSku(param="sku")
    return sku.strip()


def check_member_level(code: object) -> str:
    if not isinstance(code, str) or not _LEVEL.fullmatch(code):
        raise InvalidMemberLevel(param="member_level")
    return code


def normalise_specs(specs: object) -> dict[str, str]:
    """Specs are what tells variants apart (size, colour, material): a flat map of text to text."""
    if specs is None:
        return {}
    if not isinstance(specs, Mapping) or len(specs) > MAX_SPECS:
        raise InvalidSpecs(param="specs")
    out: dict[str, str] = {}
    for name, value in specs.items():
        if not isinstance(name, str) or not isinstance(value, str | int) or isinstance(value, bool):
            raise InvalidSpecs(param="specs")
        name, text = name.strip(), str(value).strip()
        if not name or not text or len(name) > MAX_SPEC_TEXT or len(text) > MAX_SPEC_TEXT:
            raise InvalidSpecs(f"Spec {name!r} needs a name and a value of at most {MAX_SPEC_TEXT} characters.",
                               param=f"specs.{name}")
        out[name] = text
    return out


def check_price(price: Money, *, param: str = "price") -> Money:
    if not isinstance(price, Money):
        raise ValidationFailed("Prices are Money.", param=param)
    if price.minor < 0:
        raise InvalidPrice(param=param)
    return price


# --- the category tree ---------------------------------------------------------------
def descendant_ids(root_id: int, parent_of: Mapping[int, int | None]) -> set[int]:
    """`root_id` and every category below it, from a child -> parent map of the whole tree."""
    children: dict[int, list[int]] = {}
    for child, parent in parent_of.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found = {root_id}
    stack = [root_id]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:  # a damaged tree with a loop still terminates
                found.add(child)
                stack.append(child)
    return found


def check_category_parent(category_id: int | None, parent_id: int | None,
                          parent_of: Mapping[int, int | None]) -> None:
    """Moving a category below itself or its own descendant would cut it off the tree."""
    if category_id is None or parent_id is None:
        return
    if parent_id in descendant_ids(category_id, parent_of):
        raise CategoryCycle(param="parent_id")
