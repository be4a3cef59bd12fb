from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "clearhouse.inventory"
    label = "inventory"
    verbose_name = "Inventory"
