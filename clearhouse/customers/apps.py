from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "clearhouse.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from clearhouse.core.scheduler import schedule_register

        # Daily (after 00:00 UTC). member_levels_recalculate_task is not periodic: staff changes enqueue it.
        schedule_register(name="customers.points_expire", task_path="clearhouse.customers.tasks.points_expire_task",
                          every_s=86400)
