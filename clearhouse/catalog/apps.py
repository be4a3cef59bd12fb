from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "clearhouse.catalog"
    label = "catalog"
    verbose_name = "Catalog"
