"""Customer endpoints: a customer's own profile, addresses, points and level; staff views of customers.

`/customers/me...` is the signed-in customer's own data: it needs
`customers.customer_self_service` and a person behind the call (API keys
have none), and it only ever reads or writes that person's rows. Staff
endpoints need `customers.view_customers` (`adjust_points`, `tag_customers`
to change things); merchant-scoped callers never see customers' data.
"""

from __future__ import annotations

from ninja import Router, Schema, Status

from clearhouse.accounts.principal import Principal
from clearhouse.accounts.roles import ADJUST_POINTS, CUSTOMER_SELF_SERVICE, TAG_CUSTOMERS, VIEW_CUSTOMERS
from clearhouse.api.pagination import Page, paginate
from clearhouse.api.routers.customer_schemas import (
    AddressIn,
    AddressOut,
    AddressPatch,
    CustomerDetailOut,
    CustomerOut,
    MemberLevelProgressOut,
    PageNumber,
    PageSize,
    PathId,
    PointsAdjustIn,
    PointsBalanceOut,
    PointsEntryOut,
    ProfileOut,
    ProfilePatch,
    TagsIn,
    address_out,
    balance_out,
    customer_out,
    points_entry_out,
    profile_out,
    progress_out,
)
from clearhouse.core.errors import PermissionDenied, ValidationFailed
from clearhouse.customers import selectors, services
from clearhouse.customers.domain import CustomerAccountRequired
from clearhouse.customers.models import CustomerProfile, PointsReason

router = Router(tags=["customers"])


def me(request) -> CustomerProfile:
    """The caller's own customer profile (made on first use)."""
    principal: Principal = request.auth
    principal.require(CUSTOMER_SELF_SERVICE)
    if principal.user is None or principal.merchant_id is not None:
        raise CustomerAccountRequired("Only a signed-in customer has a profile; API keys have none.")
    return services.customer_profile_ensure(user=principal.user)


def staff(request, perm: str) -> Principal:
    principal: Principal = request.auth
    principal.require(perm)
    if principal.merchant_id is not None:
        raise PermissionDenied("Merchant callers do not see customers' data.")
    return principal


# --- the customer's own profile -----------------------------------------------------------
@router.get("/me", response=ProfileOut, summary="My profile")
def get_me(request):
    return profile_out(me(request))


@router.patch("/me", response=ProfileOut, summary="Change my contact details")
def patch_me(request, payload: ProfilePatch):
    customer = services.customer_profile_update(customer=me(request), **payload.dict(exclude_unset=True))
    return profile_out(customer)


@router.get("/me/addresses", response=list[AddressOut], summary="My addresses (default first)")
def list_addresses(request):
    return [address_out(a) for a in selectors.address_list(customer=me(request))]


@router.post("/me/addresses", response={201: AddressOut}, summary="Add an address")
def create_address(request, payload: AddressIn):
    return Status(201, address_out(services.address_create(customer=me(request), **payload.dict())))


@router.get("/me/addresses/{int:address_id}", response=AddressOut, summary="One of my addresses")
def get_address(request, address_id: PathId):
    return address_out(selectors.address_get(customer=me(request), address_id=address_id))


@router.patch("/me/addresses/{int:address_id}", response=AddressOut, summary="Change an address")
def patch_address(request, address_id: PathId, payload: AddressPatch):
    address = selectors.address_get(customer=me(request), address_id=address_id)
    fields = payload.dict(exclude_unset=True)
    make_default = fields.pop("is_default", None)
    if make_default is False and address.is_default:
        raise ValidationFailed("Make another address the default instead.", param="is_default")
    address = services.address_update(address=address, **fields)
    if make_default:
        address = services.address_set_default(address=address)
    return address_out(address)


@router.delete("/me/addresses/{int:address_id}", response={204: None}, summary="Remove an address")
def delete_address(request, address_id: PathId):
    services.address_delete(address=selectors.address_get(customer=me(request), address_id=address_id))
    return Status(204, None)


@router.get("/me/points", response=PointsBalanceOut, summary="My points balance")
def get_my_points(request):
    return balance_out(selectors.points_balance(customer=me(request)))


@router.get("/me/points/entries", response=Page[PointsEntryOut], summary="My points history (newest first)")
def list_my_points(request, reason: PointsReason | None = None, page: PageNumber = 1, page_size: PageSize = 50):
    return paginate(selectors.points_history(customer=me(request), reason=reason), page, page_size, points_entry_out)


@router.get("/me/member-level", response=MemberLevelProgressOut, summary="My member level and the next one")
def get_my_level(request):
    return progress_out(selectors.member_level_progress(customer=me(request)))


# --- staff ------------------------------------------------------------------------------
@router.get("", response=Page[CustomerOut], summary="List customers")
def list_customers(request, search: str | None = None, tag: str | None = None, level: str | None = None,
                   page: PageNumber = 1, page_size: PageSize = 50):
    staff(request, VIEW_CUSTOMERS)
    return paginate(selectors.customer_list(search=search, tag=tag, level=level), page, page_size, customer_out)


@router.get("/{int:customer_id}", response=CustomerDetailOut, summary="A customer with points and membership")
def get_customer(request, customer_id: PathId):
    staff(request, VIEW_CUSTOMERS)
    customer = selectors.customer_get(customer_id=customer_id)
    return dict(customer_out(customer), points=balance_out(selectors.points_balance(customer=customer)),
                membership=progress_out(selectors.member_level_progress(customer=customer)))


@router.get("/{int:customer_id}/points/entries", response=Page[PointsEntryOut], summary="A customer's points history")
def list_customer_points(request, customer_id: PathId, reason: PointsReason | None = None,
                         page: PageNumber = 1, page_size: PageSize = 50):
    staff(request, VIEW_CUSTOMERS)
    customer = selectors.customer_get(customer_id=customer_id)
    return paginate(selectors.points_history(customer=customer, reason=reason), page, page_size, points_entry_out)


class PointsAdjustedOut(Schema):
    entries: list[PointsEntryOut]
    balance: PointsBalanceOut


@router.post("/{int:customer_id}/points/adjustments", response={201: PointsAdjustedOut},
             summary="Add or take points, with a note")
def adjust_points(request, customer_id: PathId, payload: PointsAdjustIn):
    principal = staff(request, ADJUST_POINTS)
    customer = selectors.customer_get(customer_id=customer_id)
    entries = services.points_adjust(customer=customer, delta=payload.delta, note=payload.note, actor=principal)
    return Status(201, dict(entries=[points_entry_out(e) for e in entries],
                            balance=balance_out(selectors.points_balance(customer=customer))))


@router.put("/{int:customer_id}/tags", response=CustomerOut, summary="Set a customer's tags")
def set_tags(request, customer_id: PathId, payload: TagsIn):
    principal = staff(request, TAG_CUSTOMERS)
    customer = selectors.customer_get(customer_id=customer_id)
    services.customer_tags_set(customer=customer, tag_codes=payload.tags, actor=principal)
    return customer_out(selectors.customer_get(customer_id=customer_id))
