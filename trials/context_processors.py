from .enums import Role
from .scoping import Action, roles_of, site_ids_for


# The language the studies' own texts (titles, criteria, visit and item labels) are written in:
# the pages mark them with it (lang="..."), so that a screen reader reads them right.
CONTENT_LANGUAGE = "en"


def roles(request):
    """The signed-in user's roles, for menus (permissions are checked again by each view), and the
    language of the studies' own texts."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": set(), "user_role_labels": [], "content_language": CONTENT_LANGUAGE}
    user_roles = roles_of(user)
    return {
        "content_language": CONTENT_LANGUAGE,
        "user_roles": user_roles,
        "user_role_labels": [Role(code).label for code in sorted(user_roles) if code in Role.values],
        "can_configure": bool(site_ids_for(user, Action.CONFIGURE_STUDY)) and user.is_staff,
    }
