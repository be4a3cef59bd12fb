"""Storefront pages: the catalog grid with search and filters, the product page, add to cart.

Thin: they parse the request, read through the catalog, inventory and
customers selectors, and render. Anonymous visitors and customers see
published products only; merchant staff may also preview their own drafts.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clearhouse.accounts.principal import principal_for_user
from clearhouse.catalog import selectors as catalog
from clearhouse.catalog.description import render_description
from clearhouse.catalog.domain import ProductSort
from clearhouse.catalog.models import Category, Product, ProductImage, Variant
from clearhouse.core.errors import DomainError, NotFound
from clearhouse.core.money import Money
from clearhouse.customers.selectors import customer_for_user
from clearhouse.customers.services import customer_profile_ensure
from clearhouse.inventory.selectors import available_of, in_stock_variant_ids
from clearhouse.web.forms import CartAddForm, CatalogFilterForm
from clearhouse.web.templatetags.shop import local_name

PAGE_SIZE = 12
LOW_STOCK_SHOWN_BELOW = 5  # "only N left" under this many units


@dataclass(frozen=True)
class ProductCard:
    """One tile of the catalog grid."""

    product: Product
    thumbnail: ProductImage | None
    price_from: Money | None


@dataclass(frozen=True)
class VariantOffer:
    """A variant as a shopper sees it: specs, their price (member price if any), list price, stock."""

    variant: Variant
    price: Money
    list_price: Money
    member_price: bool
    available: int

    @property
    def specs(self) -> list[tuple[str, str]]:
        return sorted(self.variant.specs.items())

    @property
    def few_left(self) -> bool:
        return 0 < self.available < LOW_STOCK_SHOWN_BELOW


def _category_choices() -> list[tuple[int, str]]:
    """The whole tree, depth-first, indented so the dropdown shows the hierarchy."""
    nodes = list(catalog.category_list())
    children: dict[int | None, list[Category]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    out: list[tuple[int, str]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for node in children.get(parent_id, []):
            out.append((node.pk, "\u00a0\u00a0" * depth + local_name(node)))
            walk(node.pk, depth + 1)

    walk(None, 0)
    return out


def _filtered_products(form: CatalogFilterForm):
    data = form.cleaned_data if form.is_valid() else {}
    return catalog.product_list(
        text=data.get("q") or "", category_id=data.get("category"), merchant_id=data.get("merchant"),
        price_min=data.get("price_min"), price_max=data.get("price_max"),
        in_stock_variants=in_stock_variant_ids() if data.get("in_stock") else None,
        sort=ProductSort(data.get("sort") or ProductSort.RELEVANCE), published_only=True,
    )


def shop_catalog(request: HttpRequest) -> HttpResponse:
    form = CatalogFilterForm(request.GET, categories=_category_choices(),
                             merchants=catalog.merchants_with_products())
    try:
        products = _filtered_products(form).select_related("merchant")
    except DomainError as exc:  # e.g. price_min and price_max the wrong way round is simply empty; this is the rest
        messages.error(request, exc.message)
        products = catalog.product_list(published_only=True)
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    pictures = catalog.product_images(product_ids=[p.pk for p in page.object_list])
    cards = [ProductCard(p, (pictures[p.pk] or [None])[0],
                         Money(p.price_from_minor, p.price_from_currency) if p.price_from_minor is not None else None)
             for p in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/shop/catalog.html", {
        "form": form, "page": page, "cards": cards, "query": query.urlencode(),
    })


def _product_for(request: HttpRequest, product_id: int) -> Product:
    """A published product, or a draft of the signed-in merchant's own shop; anything else is a 404."""
    try:
        return catalog.product_get(product_id=product_id, published_only=True)
    except NotFound:
        pass
    merchant_id = principal_for_user(request.user).merchant_id if request.user.is_authenticated else None
    if merchant_id is None:
        raise Http404
    try:
        return catalog.product_get(product_id=product_id, merchant_id=merchant_id, published_only=False)
    except NotFound:
        raise Http404 from None


def _member_level_code(request: HttpRequest) -> str | None:
    if not request.user.is_authenticated:
        return None
    profile = customer_for_user(user=request.user)
    return profile.member_level.code if profile and profile.member_level_id else None


def _offers(product: Product, level_code: str | None) -> list[VariantOffer]:
    variants = catalog.variants_of(product_ids=[product.pk], published_only=True)[product.pk]
    ids = [v.pk for v in variants]
    available = available_of(variant_ids=ids)
    level_prices = catalog.level_prices_of(variant_ids=ids) if level_code else {}
    offers = []
    for v in variants:
        list_price = Money(v.price_minor, v.currency)
        level_minor = level_prices.get(v.pk, {}).get(level_code) if level_code else None
        price = Money(level_minor, v.currency) if level_minor is not None else list_price
        offers.append(VariantOffer(v, price, list_price, level_minor is not None, available[v.pk]))
    return offers


def shop_product(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _product_for(request, product_id)
    pictures = catalog.product_images(product_ids=[product.pk])[product.pk]
    try:
        shown = max(0, min(int(request.GET.get("image", 0)), len(pictures) - 1))
    except ValueError:
        shown = 0
    level_code = _member_level_code(request)
    offers = _offers(product, level_code)
    return render(request, "web/shop/product.html", {
        "product": product, "pictures": pictures, "picture": pictures[shown] if pictures else None,
        "shown": shown, "offers": offers, "level_code": level_code,
        "any_in_stock": any(o.available > 0 for o in offers),
        "description": mark_safe(render_description(product.description)),  # noqa: S308  escaped by the renderer
    })


def _orders_cart_line_add():
    """The orders app's `cart_line_add` service, or None while that app is not installed yet."""
    from django.apps import apps

    if not apps.is_installed("clearhouse.orders"):
        return None
    try:
        from clearhouse.orders import services as order_services
    except ImportError:
        return None
    return getattr(order_services, "cart_line_add", None)


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return fallback


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    """Put a variant in the cart (through the orders app once it is installed)."""
    form = CartAddForm(request.POST)
    back = _back(request, reverse("web:shop"))
    if not form.is_valid():
        messages.error(request, _("Choose a variant and a quantity from 1 to 999."))
        return redirect(back)
    cart_line_add = _orders_cart_line_add()
    if cart_line_add is None:
        messages.info(request, _("The cart is not open yet: ordering arrives with the next release."))
        return redirect(back)
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': back})}")
    try:
        cart_line_add(customer=customer_profile_ensure(user=request.user), variant_id=form.cleaned_data["variant_id"],
                      quantity=form.cleaned_data["quantity"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(request, _("Added to your cart."))
    return redirect(back)
