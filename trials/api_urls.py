from django.urls import path

from . import api, api_me, api_versions, lock_api

urlpatterns = [
    path("me/", api_me.MeView.as_view(), name="api-me"),
    path("studies/", api.StudyList.as_view(), name="api-study-list"),
    path("studies/<str:code>/", api.StudyDetail.as_view(), name="api-study-detail"),
    path("studies/<str:code>/definition/", api.StudyDefinition.as_view(), name="api-study-definition"),
    path("studies/<str:code>/activate/", api.StudyActivate.as_view(), name="api-study-activate"),
    path("studies/<str:code>/lock/", lock_api.StudyLock.as_view(), name="api-study-lock"),
    path("studies/<str:code>/unlock/", lock_api.StudyUnlock.as_view(), name="api-study-unlock"),
    path("studies/<str:code>/versions/", api_versions.StudyVersions.as_view(), name="api-study-versions"),
    path("studies/<str:code>/amendments/", api_versions.StudyAmendments.as_view(), name="api-study-amendments"),
]
