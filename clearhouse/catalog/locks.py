"""Row locks of the catalog, taken inside services only (DESIGN §12.7)."""

from __future__ import annotations

from clearhouse.catalog.models import Product


def product_select_for_update(*, product_id: int) -> Product:
    """Lock one product row until the transaction ends (its state changes one at a time)."""
    return Product.objects.select_for_update().get(pk=product_id)
