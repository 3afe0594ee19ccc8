from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("audit/<str:kind>/<int:pk>/", views.audit_trail, name="audit-trail"),
]
