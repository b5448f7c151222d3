"""Leads pages. The import wizard (leads/views_import.py), the pipeline pages (leads/views_pipeline.py) and
the related-product rules (leads/views_related.py) add their routes to the lists they export."""

from django.urls import path

from leads import views, views_import, views_pipeline, views_related

app_name = "leads"

urlpatterns = [
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/new/", views.lead_new, name="lead-create"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead-convert"),
    path("leads/<int:pk>/status/", views.lead_status, name="lead-status"),
    path("leads/<int:pk>/assign/", views.lead_assign, name="lead-assign"),
    *views_import.urlpatterns,
    *views_pipeline.urlpatterns,
    *views_related.urlpatterns,
]
