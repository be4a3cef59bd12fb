from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "clearhouse.inventory"
    label = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from clearhouse.core.scheduler import schedule_register

        # Expired reservations give their stock back within about a minute.
        schedule_register(name="inventory.release_expired_reservations",
                          task_path="clearhouse.inventory.tasks.release_expired_reservations", every_s=60)
