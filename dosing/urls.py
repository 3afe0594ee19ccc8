from django.urls import path

from . import views

urlpatterns = [
    path("studies/<str:code>/escalation/", views.escalation, name="study-escalation"),
]
