from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from sfa import views
from sfa.auth import ThrottledAuthenticationForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("people/", views.user_list, name="user-list"),
    path("people/add/", views.user_create, name="user-create"),
    path("people/<int:pk>/", views.user_detail, name="user-detail"),
    path("people/<int:pk>/edit/", views.user_edit, name="user-edit"),
    path("organisation/", views.organisation, name="organisation"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/selftest/", views.job_selftest, name="job-selftest"),
    path("jobs/<uuid:pk>/", views.job_detail, name="job-detail"),
    path("jobs/<uuid:pk>/cancel/", views.job_cancel_view, name="job-cancel"),
    path("jobs/<uuid:pk>/retry/", views.job_retry_view, name="job-retry"),
    path("jobs/<uuid:pk>/download/", views.job_download, name="job-download"),
    path("audit/", views.audit_log, name="audit-log"),
    path("audit/export/", views.audit_export, name="audit-export"),
    path(
        "audit/history/<int:content_type_id>/<str:object_id>/",
        views.audit_object_history,
        name="audit-history",
    ),
    path("", include("contacts.urls")),
    path("", include("catalog.urls")),
    path("", include("leads.urls")),
    path("", include("orders.urls")),
    path("", include("training.urls")),
    path("", include("forecasting.urls")),
    path("", include("commissions.urls")),
    path("api/", include(("sfa.api.urls", "api"), namespace="api")),
    path("admin/", admin.site.urls),
]
