from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView

from trials.api_token_views import ApiDocsView, ApiTokenView
from trials.auth_views import ThrottledLoginView, ThrottledPasswordChangeView, admin_password_change, api_token
from trials.health import healthz
from trials.language_views import language_switch

admin.site.site_header = _("Cell-therapy trials EDC - configuration")
admin.site.login = ThrottledLoginView.as_view(template_name="registration/login.html")
admin.site.password_change = admin_password_change

urlpatterns = [
    # For load balancers and monitoring: no sign-in, states only (trials/health.py).
    path("healthz", healthz, name="healthz"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", ThrottledPasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/api-token/", api_token, name="api_token"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/auth/token/", ApiTokenView.as_view(), name="api-token"),
    path("api/v1/", include("trials.api_urls")),
    path("api/v1/", include("enrollment.api_urls")),
    path("api/v1/", include("dosing.api_urls")),
    path("api/v1/", include("followup.api_urls")),
    # Django's set_language, which also keeps a signed-in user's choice with their account.
    path("i18n/setlang/", language_switch, name="set_language"),
    path("", include("enrollment.urls")),
    path("", include("dosing.infusion_urls")),
    path("", include("dosing.urls")),
    path("", include("followup.urls")),
    path("", include("trials.urls")),
]
