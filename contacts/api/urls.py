"""The contacts API's routes; sfa/api/urls.py includes them under /api/."""

from rest_framework.routers import DefaultRouter

from contacts.api import views

router = DefaultRouter()
router.register("accounts", views.AccountApi, basename="account")
router.register("contacts", views.ContactApi, basename="contact")
router.register("touches", views.TouchApi, basename="touch")
router.register("purposes", views.PurposeApi, basename="purpose")
router.register("followups", views.FollowUpApi, basename="followup")
router.register("duplicates", views.DuplicatePairApi, basename="duplicate")
router.register("merges", views.MergeApi, basename="merge")

urlpatterns = router.urls
