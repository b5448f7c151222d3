from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    # Reps: the catalog.
    path("products/", views.product_list, name="product-list"),
    path("products/new/", views.product_edit, name="product-create"),
    path("products/<slug:slug>/", views.product_detail, name="product-detail"),
    path("products/<slug:slug>/edit/", views.product_edit, name="product-edit"),
    path("products/<slug:slug>/images/", views.product_image_add, name="image-add"),
    path("products/<slug:slug>/documents/", views.product_document_add, name="document-add"),
    path("products/<slug:slug>/faq/", views.faq_add, name="faq-add"),
    path("products/<slug:slug>/prices/", views.price_set, name="price-set"),
    path("products/<slug:slug>/related/", views.related_add, name="related-add"),
    path("products/<slug:slug>/<str:kind>/<int:pk>/delete/", views.product_part_delete, name="part-delete"),
    path("catalog/files/<str:kind>/<int:pk>/", views.product_file, name="product-file"),
    # Product managers: attributes, values and rules of configurable products.
    path("catalog/configurators/", views.configurator_index, name="configurators"),
    path("products/<slug:slug>/configurator/", views.builder, name="builder"),
    path("products/<slug:slug>/configurator/attributes/new/", views.attribute_edit, name="attribute-create"),
    path("products/<slug:slug>/configurator/attributes/<int:pk>/", views.attribute_edit, name="attribute-edit"),
    path(
        "products/<slug:slug>/configurator/attributes/<int:pk>/delete/", views.attribute_delete, name="attribute-delete"
    ),
    path(
        "products/<slug:slug>/configurator/attributes/<int:attribute_pk>/values/new/",
        views.value_edit,
        name="value-create",
    ),
    path(
        "products/<slug:slug>/configurator/attributes/<int:attribute_pk>/values/<int:pk>/",
        views.value_edit,
        name="value-edit",
    ),
    path(
        "products/<slug:slug>/configurator/attributes/<int:attribute_pk>/values/<int:pk>/delete/",
        views.value_delete,
        name="value-delete",
    ),
    path("products/<slug:slug>/configurator/rules/new/", views.rule_edit, name="rule-create"),
    path("products/<slug:slug>/configurator/rules/<int:pk>/", views.rule_edit, name="rule-edit"),
    path("products/<slug:slug>/configurator/rules/<int:pk>/delete/", views.rule_delete, name="rule-delete"),
    # Customers: the public configurator (no login).
    path("configure/<slug:slug>/", views.configure, name="configure"),
    path("configure/<slug:slug>/save/", views.configure_save, name="configure-save"),
    path("configure/<slug:slug>/c/<str:token>/", views.configure_shared, name="configure-shared"),
]
