from django.urls import path

from training import views

app_name = "training"

urlpatterns = [
    # Everyone: their own training.
    path("training/", views.my_training, name="my"),
    path("training/assignments/<int:pk>/", views.assignment_detail, name="assignment-detail"),
    path("training/assignments/<int:pk>/quiz/", views.quiz, name="quiz"),
    path("training/attempts/<int:pk>/", views.attempt_detail, name="attempt-detail"),
    # Managers: their teams.
    path("training/team/", views.team_overview, name="team"),
    path("training/assign/", views.assign, name="assign"),
    path("training/assignments/<int:pk>/signoff/", views.assignment_signoff, name="assignment-signoff"),
    path("training/assignments/<int:pk>/due/", views.assignment_due, name="assignment-due"),
    path("training/assignments/<int:pk>/withdraw/", views.assignment_withdraw, name="assignment-withdraw"),
    path("training/certifications/<int:pk>/revoke/", views.certification_revoke, name="certification-revoke"),
    path("training/overrides/new/", views.override_create, name="override-create"),
    path("training/overrides/<int:pk>/revoke/", views.override_revoke, name="override-revoke"),
    # Courses (managers and admins edit them) and responsibilities (admins).
    path("training/courses/", views.course_list, name="course-list"),
    path("training/courses/new/", views.course_edit, name="course-create"),
    path("training/courses/<int:pk>/", views.course_detail, name="course-detail"),
    path("training/courses/<int:pk>/edit/", views.course_edit, name="course-edit"),
    path("training/courses/<int:pk>/questions/", views.question_add, name="question-add"),
    path("training/questions/<int:pk>/", views.question_edit, name="question-edit"),
    path("training/questions/<int:pk>/delete/", views.question_delete, name="question-delete"),
    path("training/courses/<int:pk>/materials/", views.material_add, name="material-add"),
    path("training/materials/<int:pk>/", views.material_file, name="material-file"),
    path("training/materials/<int:pk>/delete/", views.material_delete, name="material-delete"),
    path("training/responsibilities/", views.responsibility_list, name="responsibility-list"),
    path("training/responsibilities/<int:pk>/", views.responsibility_edit, name="responsibility-edit"),
]
