from django.urls import path

from commissions import views

app_name = "commissions"

urlpatterns = [
    path("commissions/", views.statement_list, name="statement-list"),
    path("commissions/compute/", views.statements_compute, name="statement-compute"),
    path("commissions/export/payroll.csv", views.export_payroll, name="export-payroll"),
    path("commissions/export/lines.csv", views.export_lines, name="export-lines"),
    path("commissions/statements/<int:pk>/", views.statement_detail, name="statement-detail"),
    path("commissions/statements/<int:pk>/approve/", views.statement_approve, name="statement-approve"),
    path("commissions/statements/<int:pk>/adjust/", views.statement_adjust, name="statement-adjust"),
    path("commissions/statements/<int:pk>/recompute/", views.statement_recompute, name="statement-recompute"),
    path("commissions/plans/", views.plan_list, name="plan-list"),
    path("commissions/plans/new/", views.plan_edit, name="plan-create"),
    path("commissions/plans/<int:pk>/", views.plan_edit, name="plan-edit"),
    path("commissions/plans/<int:pk>/delete/", views.plan_delete, name="plan-delete"),
    path("commissions/orders/<int:pk>/split/", views.order_split, name="order-split"),
]
