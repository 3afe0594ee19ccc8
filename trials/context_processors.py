from .scoping import Action, roles_of, site_ids_for


def roles(request):
    """The signed-in user's roles, for menus (permissions are checked again by each view)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": set()}
    return {
        "user_roles": roles_of(user),
        "can_configure": bool(site_ids_for(user, Action.CONFIGURE_STUDY)) and user.is_staff,
    }
