"""What the follow-up API's resources share."""


def given_fields(serializer, request, names) -> dict:
    """The validated values of the fields the body gives (a PATCH changes only those)."""
    return {name: serializer.validated_data[name] for name in names if name in request.data}
