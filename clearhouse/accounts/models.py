"""Users, merchants (organisations) and API keys."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class BusinessType(models.Model):
    """A line of business (restaurant, apparel, ...); fee rules hang on it."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Merchant(models.Model):
    """An organisation selling through the platform; owns its sub-ledgers.

    A company selling its own goods is a platform with one merchant: itself.
    """

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, related_name="merchants")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. Merchant staff belong to one merchant."""

    merchant = models.ForeignKey(
        Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    preferred_language = models.CharField(max_length=10, blank=True)

    def audit_label(self) -> str:
        return f"user:{self.pk} {self.username}"


class ApiKey(models.Model):
    """A secret for machine clients, shown once and stored only as a hash.

    The key acts with one role's permissions; a key with a merchant sees only
    that merchant's data. Tokens look like `chk_<prefix>_<secret>`: the
    prefix finds the row, the SHA-256 of the whole token proves it (the
    secret has 256 bits of entropy, so a slow hash adds nothing).
    """

    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    role = models.CharField(max_length=40)
    merchant = models.ForeignKey(
        Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [("manage_api_keys", "Create and revoke API keys")]

    def __str__(self) -> str:
        return f"{self.name} (chk_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def audit_label(self) -> str:
        return f"api_key:{self.prefix} {self.name}"
