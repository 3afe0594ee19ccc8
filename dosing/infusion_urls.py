from django.urls import path

from . import infusion_views

urlpatterns = [
    path("participants/<int:pk>/infusions/new/", infusion_views.infusion_record, name="infusion-record"),
    path("participants/<int:pk>/infusions/missed/", infusion_views.infusion_missed, name="infusion-missed"),
]
