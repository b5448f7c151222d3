from django.urls import path

from contacts import views, views_duplicates

app_name = "contacts"

urlpatterns = [
    path("contacts/", views.contact_list, name="contact-list"),
    path("contacts/new/", views.contact_edit, name="contact-create"),
    path("contacts/check-duplicates/", views.contact_check_duplicates, name="contact-check-duplicates"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact-detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:pk>/touch/", views.touch_new, name="touch-new"),
    path("contacts/<int:pk>/consent/", views.consent_set, name="consent-set"),
    path("touches/<int:pk>/status/", views.touch_status, name="touch-status"),
    path("accounts/", views.account_list, name="account-list"),
    path("accounts/new/", views.account_edit, name="account-create"),
    path("accounts/<int:pk>/", views.account_detail, name="account-detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account-edit"),
    path("followups/", views.followups, name="followups"),
    path("followups/<int:pk>/close/", views.followup_close, name="followup-close"),
    path("search/", views.search, name="search"),
    path("outreach/report/", views.guard_report, name="guard-report"),
    path("outreach/purposes/", views.purposes, name="purposes"),
    path("campaigns/new/", views.campaign_new, name="campaign-new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("duplicates/", views_duplicates.queue, name="duplicates"),
    path("duplicates/compare/", views_duplicates.compare, name="duplicates-compare"),
    path("duplicates/merge/", views_duplicates.merge, name="duplicates-merge"),
    path("duplicates/scan/", views_duplicates.scan, name="duplicates-scan"),
    path("duplicates/settings/", views_duplicates.settings_view, name="duplicates-settings"),
    path("duplicates/<int:pk>/", views_duplicates.candidate, name="duplicates-pair"),
    path("duplicates/<int:pk>/dismiss/", views_duplicates.dismiss, name="duplicates-dismiss"),
    path("merges/<int:pk>/undo/", views_duplicates.undo, name="merge-undo"),
]
