"""Input widgets the forms of every app share."""
from django import forms


def date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def number_input(**attrs):
    return forms.NumberInput(attrs={"step": "any", **attrs})
