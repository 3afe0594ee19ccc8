from django.urls import path

from . import lock_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("audit/<str:kind>/<int:pk>/", views.audit_trail, name="audit-trail"),
    path("studies/<str:code>/lock/", lock_views.study_lock_page, name="study-lock"),
    path("studies/<str:code>/unlock/", lock_views.study_unlock_page, name="study-unlock"),
]
