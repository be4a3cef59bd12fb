from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "clearhouse.orders"
    label = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from clearhouse.core.scheduler import schedule_register

        # Unpaid orders past ORDER_UNPAID_EXPIRY are cancelled within about a minute.
        schedule_register(name="orders.expire_unpaid", task_path="clearhouse.orders.tasks.expire_unpaid_orders",
                          every_s=60)
